//! Two repositories written in one caller-owned transaction (`sqlx::Transaction`
//! or `DbOp`): all or nothing.

use chrono::{TimeZone, Utc};
use es_entity::*;

use crate::repo_fixtures::*;

struct Written {
    member: MemberId,
    ticket: TicketId,
}

/// Creates a member and a ticket of it, then updates both, all in `op`.
async fn write_both(
    op: &mut impl AtomicOperation,
    members: &Members,
    tickets: &Tickets,
) -> Written {
    let mut member = members.create_in_op(op, NewMember::fresh()).await.unwrap();
    let mut ticket = tickets
        .create_in_op(
            op,
            NewTicket {
                id: TicketId::new(),
                member_id: member.id,
                title: "t".into(),
            },
        )
        .await
        .unwrap();
    member.note("opened a ticket");
    assert_eq!(members.update_in_op(op, &mut member).await.unwrap(), 1);
    ticket.retitle("t2");
    assert_eq!(tickets.update_in_op(op, &mut ticket).await.unwrap(), 1);

    // Both visible inside the transaction.
    assert_eq!(
        members
            .find_by_id_in_op(&mut *op, member.id)
            .await
            .unwrap()
            .events()
            .len_persisted(),
        2
    );
    let seen = tickets
        .find_by_member_id_in_op(&mut *op, member.id)
        .await
        .unwrap();
    assert_eq!((seen.id, seen.title.as_str()), (ticket.id, "t2"));
    Written {
        member: member.id,
        ticket: ticket.id,
    }
}

async fn assert_nothing_left(pool: &sqlx::PgPool, w: &Written) {
    let (members, tickets) = (Members::new(pool), Tickets::new(pool));
    assert!(members.maybe_find_by_id(w.member).await.unwrap().is_none());
    assert!(tickets.maybe_find_by_id(w.ticket).await.unwrap().is_none());
    assert!(!index_row_exists(pool, "members", w.member).await);
    assert!(!index_row_exists(pool, "tickets", w.ticket).await);
    assert!(
        stored_sequences(pool, "member_events", w.member)
            .await
            .is_empty()
    );
    assert!(
        stored_sequences(pool, "ticket_events", w.ticket)
            .await
            .is_empty()
    );
}

async fn assert_both_committed(pool: &sqlx::PgPool, w: &Written) {
    let (members, tickets) = (Members::new(pool), Tickets::new(pool));
    assert_eq!(
        members
            .find_by_id(w.member)
            .await
            .unwrap()
            .events()
            .len_persisted(),
        2
    );
    let ticket = tickets.find_by_id(w.ticket).await.unwrap();
    assert_eq!((ticket.member_id, ticket.title.as_str()), (w.member, "t2"));
    assert_eq!(
        stored_sequences(pool, "member_events", w.member).await,
        [1, 2]
    );
    assert_eq!(
        stored_sequences(pool, "ticket_events", w.ticket).await,
        [1, 2]
    );
}

#[tokio::test]
async fn sqlx_transaction_rollback_leaves_nothing() {
    let pool = es_entity_tests::pool().await;
    let (members, tickets) = (Members::new(&pool), Tickets::new(&pool));
    let mut tx = pool.begin().await.unwrap();
    let written = write_both(&mut tx, &members, &tickets).await;
    // Not visible outside before the end of the transaction.
    assert!(
        members
            .maybe_find_by_id(written.member)
            .await
            .unwrap()
            .is_none()
    );
    tx.rollback().await.unwrap();
    assert_nothing_left(&pool, &written).await;
}

#[tokio::test]
async fn sqlx_transaction_dropped_leaves_nothing() {
    let pool = es_entity_tests::pool().await;
    let (members, tickets) = (Members::new(&pool), Tickets::new(&pool));
    let mut tx = pool.begin().await.unwrap();
    let written = write_both(&mut tx, &members, &tickets).await;
    drop(tx);
    assert_nothing_left(&pool, &written).await;
}

#[tokio::test]
async fn sqlx_transaction_commit_makes_both_visible() {
    let pool = es_entity_tests::pool().await;
    let (members, tickets) = (Members::new(&pool), Tickets::new(&pool));
    let mut tx = pool.begin().await.unwrap();
    let written = write_both(&mut tx, &members, &tickets).await;
    tx.commit().await.unwrap();
    assert_both_committed(&pool, &written).await;
}

#[tokio::test]
async fn db_op_rollback_and_drop_leave_nothing() {
    let pool = es_entity_tests::pool().await;
    let (members, tickets) = (Members::new(&pool), Tickets::new(&pool));

    let mut op = members.begin_op().await.unwrap();
    let rolled_back = write_both(&mut op, &members, &tickets).await;
    op.rollback().await.unwrap();
    assert_nothing_left(&pool, &rolled_back).await;

    let mut op = DbOp::init(&pool).await.unwrap();
    let dropped = write_both(&mut op, &members, &tickets).await;
    drop(op);
    assert_nothing_left(&pool, &dropped).await;
}

#[tokio::test]
async fn db_op_commit_makes_both_visible_with_one_time() {
    let pool = es_entity_tests::pool().await;
    let (members, tickets) = (Members::new(&pool), Tickets::new(&pool));
    let at = Utc.with_ymd_and_hms(2022, 1, 2, 3, 4, 5).unwrap();
    let mut op = tickets.begin_op().await.unwrap().with_time(at);
    let written = write_both(&mut op, &members, &tickets).await;
    op.commit().await.unwrap();

    assert_both_committed(&pool, &written).await;
    for (table, id) in [
        ("member_events", written.member.into()),
        ("ticket_events", written.ticket.into()),
    ] {
        let id: uuid::Uuid = id;
        assert!(
            stored_events(&pool, table, id)
                .await
                .iter()
                .all(|(_, _, t)| *t == at),
            "{table}"
        );
    }
}

#[tokio::test]
async fn a_dropped_savepoint_undoes_only_its_own_writes() {
    let pool = es_entity_tests::pool().await;
    let (members, tickets) = (Members::new(&pool), Tickets::new(&pool));
    let mut op = DbOp::init(&pool).await.unwrap();
    let member = members
        .create_in_op(&mut op, NewMember::fresh())
        .await
        .unwrap();
    let ticket_id = TicketId::new();
    {
        let mut nested = op.begin().await.unwrap();
        tickets
            .create_in_op(
                &mut nested,
                NewTicket {
                    id: ticket_id,
                    member_id: member.id,
                    title: "x".into(),
                },
            )
            .await
            .unwrap();
        assert!(
            tickets
                .maybe_find_by_id_in_op(&mut nested, ticket_id)
                .await
                .unwrap()
                .is_some()
        );
        // dropped: savepoint rolled back
    }
    assert!(
        tickets
            .maybe_find_by_id_in_op(&mut op, ticket_id)
            .await
            .unwrap()
            .is_none()
    );
    op.commit().await.unwrap();
    assert_eq!(members.find_by_id(member.id).await.unwrap().id, member.id);
    assert!(!index_row_exists(&pool, "tickets", ticket_id).await);
}

#[tokio::test]
async fn a_failed_write_aborts_the_callers_transaction() {
    let pool = es_entity_tests::pool().await;
    let (members, tickets) = (Members::new(&pool), Tickets::new(&pool));
    let mut op = DbOp::init(&pool).await.unwrap();
    let member = members
        .create_in_op(&mut op, NewMember::fresh())
        .await
        .unwrap();
    let err = tickets
        .create_in_op(
            &mut op,
            NewTicket {
                id: TicketId::new(),
                member_id: MemberId::new(),
                title: "x".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.constraint_violation().map(|v| v.kind),
        Some(ConstraintKind::ForeignKey)
    );

    // PostgreSQL refuses further statements until the transaction ends.
    let err = members
        .find_by_id_in_op(&mut op, member.id)
        .await
        .unwrap_err();
    let FindError::Sqlx(sqlx_err) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        sqlx_err
            .as_database_error()
            .and_then(|d| d.code())
            .as_deref(),
        Some("25P02")
    );
    drop(op);
    assert!(!index_row_exists(&pool, "members", member.id).await);
}
