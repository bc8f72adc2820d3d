//! The `was_*` checks that code ported from es-entity 0.12 calls:
//! `was_concurrent_modification`, `was_foreign_key_violation`,
//! `was_check_violation`, `was_not_found`, `was_duplicate`, each on real
//! errors from PostgreSQL, true for its own kind and false for the others.

use es_entity::*;
use uuid::Uuid;

use crate::repo_fixtures::*;

/// The five checks of a `ModifyError`, in the order
/// (concurrent, foreign key, check, not found, duplicate).
fn modify_flags<C: EntityColumn>(e: &ModifyError<C>) -> [bool; 5] {
    [
        e.was_concurrent_modification(),
        e.was_foreign_key_violation(),
        e.was_check_violation(),
        e.was_not_found(),
        e.was_duplicate(),
    ]
}

/// The three checks of a `CreateError`: (foreign key, check, duplicate).
fn create_flags<C: EntityColumn>(e: &CreateError<C>) -> [bool; 3] {
    [
        e.was_foreign_key_violation(),
        e.was_check_violation(),
        e.was_duplicate(),
    ]
}

#[tokio::test]
async fn create_errors_by_kind() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let tickets = Tickets::new(&pool);

    let taken = members.create(NewMember::fresh()).await.unwrap();
    let mut again = NewMember::fresh();
    again.id = taken.id;
    let duplicate = members.create(again).await.unwrap_err();
    assert_eq!(
        create_flags(&duplicate),
        [false, false, true],
        "{duplicate:?}"
    );

    let mut over = NewMember::fresh();
    over.credit_limit = -1;
    let check = members.create(over).await.unwrap_err();
    assert_eq!(create_flags(&check), [false, true, false], "{check:?}");

    let orphan = tickets
        .create(NewTicket {
            id: TicketId::new(),
            member_id: MemberId::new(),
            title: "orphan".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(create_flags(&orphan), [true, false, false], "{orphan:?}");
}

#[tokio::test]
async fn modify_errors_by_kind() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let tickets = Tickets::new(&pool);

    // Two copies of one member: the second save loses the race.
    let id = members.create(NewMember::fresh()).await.unwrap().id;
    let mut first = members.find_by_id(id).await.unwrap();
    let mut second = members.find_by_id(id).await.unwrap();
    first.note("first");
    second.note("second");
    members.update(&mut first).await.unwrap();
    let race = members.update(&mut second).await.unwrap_err();
    assert_eq!(
        modify_flags(&race),
        [true, false, false, false, false],
        "{race:?}"
    );
    assert!(race.is_concurrent_modification(), "the older name agrees");

    let taken = members.create(NewMember::fresh()).await.unwrap();
    let mut member = members.create(NewMember::fresh()).await.unwrap();
    member.change_email(&taken.email);
    let duplicate = members.update(&mut member).await.unwrap_err();
    assert_eq!(
        modify_flags(&duplicate),
        [false, false, false, false, true],
        "{duplicate:?}"
    );

    let mut member = members.create(NewMember::fresh()).await.unwrap();
    member.change_credit_limit(-5);
    let check = members.update(&mut member).await.unwrap_err();
    assert_eq!(
        modify_flags(&check),
        [false, false, true, false, false],
        "{check:?}"
    );

    let owner = members.create(NewMember::fresh()).await.unwrap();
    let mut ticket = tickets
        .create(NewTicket {
            id: TicketId::new(),
            member_id: owner.id,
            title: "owned".into(),
        })
        .await
        .unwrap();
    ticket.reassign(MemberId::new());
    let orphan = tickets.update(&mut ticket).await.unwrap_err();
    assert_eq!(
        modify_flags(&orphan),
        [false, true, false, false, false],
        "{orphan:?}"
    );

    // The index row vanished under a loaded entity.
    let mut gone = members.create(NewMember::fresh()).await.unwrap();
    for table in ["member_events", "members"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE id = $1"
        )))
        .bind(Uuid::from(gone.id))
        .execute(&pool)
        .await
        .unwrap();
    }
    gone.note("into the void");
    let missing = members.update(&mut gone).await.unwrap_err();
    assert_eq!(
        modify_flags(&missing),
        [false, false, false, true, false],
        "{missing:?}"
    );
}

#[tokio::test]
async fn find_errors_by_kind() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let found = members.create(NewMember::fresh()).await.unwrap();

    let missing = members.find_by_id(MemberId::new()).await.unwrap_err();
    assert!(missing.was_not_found(), "{missing:?}");

    // A database error is not "not found".
    pool.close().await;
    let closed = members.find_by_id(found.id).await.unwrap_err();
    assert!(matches!(closed, FindError::Sqlx(_)), "{closed:?}");
    assert!(!closed.was_not_found());
}

#[tokio::test]
async fn update_with_retry_errors_by_kind() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let policy = RetryPolicy::new(2);

    let missing = members
        .update_with_retry(MemberId::new(), &policy, |m| m.note("x"))
        .await
        .unwrap_err();
    assert!(missing.was_not_found(), "{missing:?}");
    assert!(!missing.was_duplicate() && !missing.was_concurrent_modification());

    let taken = members.create(NewMember::fresh()).await.unwrap();
    let id = members.create(NewMember::fresh()).await.unwrap().id;
    let duplicate = members
        .update_with_retry(id, &policy, |m| m.change_email(&taken.email))
        .await
        .unwrap_err();
    assert!(duplicate.was_duplicate(), "{duplicate:?}");
    assert!(!duplicate.was_not_found() && !duplicate.was_check_violation());

    let check = members
        .update_with_retry(id, &policy, |m| m.change_credit_limit(-1))
        .await
        .unwrap_err();
    assert!(check.was_check_violation(), "{check:?}");
    assert!(!check.was_foreign_key_violation());

    let tickets = Tickets::new(&pool);
    let ticket = tickets
        .create(NewTicket {
            id: TicketId::new(),
            member_id: id,
            title: "t".into(),
        })
        .await
        .unwrap();
    let orphan = tickets
        .update_with_retry(ticket.id, &policy, |t| t.reassign(MemberId::new()))
        .await
        .unwrap_err();
    assert!(orphan.was_foreign_key_violation(), "{orphan:?}");
    assert!(!orphan.was_check_violation());
}
