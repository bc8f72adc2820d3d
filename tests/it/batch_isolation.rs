//! Batch isolation (`es_entity::batch`, book: Bulk writes): the items of a
//! `create_all` / `update_all` that fail are set aside with their errors
//! while the others are written, inside a caller's transaction (savepoints)
//! or on the pool (each part its own statement).

use es_entity::batch::{self, BatchError};
use es_entity::*;
use sqlx::PgPool;
use uuid::Uuid;

use crate::repo_fixtures::{Member, MemberColumn, MemberId, Members, NewMember};
use crate::repo_round_trips::{StatementCounter, counting};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn exists(pool: &PgPool, id: MemberId) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM members WHERE id = $1)")
        .bind(Uuid::from(id))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Eight new members; those at `taken` get the email of a member created
/// first, those at `negative` a credit limit the CHECK constraint refuses.
async fn eight(members: &Members, taken: &[usize], negative: &[usize]) -> Vec<NewMember> {
    let mut news = Vec::new();
    for i in 0..8 {
        let mut new = NewMember::fresh();
        if taken.contains(&i) {
            let mut first = NewMember::fresh();
            first.email = new.email.clone();
            members.create(first).await.unwrap();
        }
        if negative.contains(&i) {
            new.credit_limit = -1;
        }
        news.push(new);
    }
    news
}

// ANCHOR: in_op
/// Creates what it can of `news` inside the caller's transaction and says
/// which could not be created, and why.
pub async fn create_what_can_be(
    members: &Members,
    op: &mut DbOp<'_>,
    news: Vec<NewMember>,
) -> Vec<(usize, CreateError<MemberColumn>)> {
    let done = batch::isolate_in_op(op, news, async |sp, part| {
        members.create_all_in_op(sp, part).await
    })
    .await;
    assert!(done.stopped.is_none(), "{:?}", done.stopped);
    done.failed
        .into_iter()
        .map(|f| (f.index, f.error))
        .collect()
}
// ANCHOR_END: in_op

#[tokio::test]
async fn in_a_transaction_the_failing_items_are_set_aside() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let news = eight(&members, &[2], &[5]).await;
    let ids: Vec<MemberId> = news.iter().map(|n| n.id).collect();

    let mut op = DbOp::init(&pool).await?;
    // Earlier work in the same transaction survives the failed attempts.
    let before = members.create_in_op(&mut op, NewMember::fresh()).await?;
    let done = batch::isolate_in_op(&mut op, news, async |sp, part| {
        members.create_all_in_op(sp, part).await
    })
    .await;
    assert!(done.stopped.is_none() && done.undecided.is_empty());
    let written: Vec<usize> = done.written.iter().map(|(i, _)| *i).collect();
    assert_eq!(written, [0, 1, 3, 4, 6, 7]);
    for (i, member) in &done.written {
        assert_eq!(member.id, ids[*i]);
        assert_eq!(member.events().len_persisted(), 1);
    }
    let failed: Vec<usize> = done.failed.iter().map(|f| f.index).collect();
    assert_eq!(failed, [2, 5]);
    let [dup, check] = &done.failed[..] else {
        unreachable!()
    };
    assert!(
        dup.error.was_duplicate_by(MemberColumn::Email),
        "{:?}",
        dup.error
    );
    assert!(check.error.was_check_violation(), "{:?}", check.error);
    for f in &done.failed {
        assert_eq!(f.item.id, ids[f.index], "the failed item is given back");
    }
    // 0..8, 0..4, 0..2, 2..4, 2..3, 3..4, 4..8, 4..6, 4..5, 5..6, 6..8.
    assert_eq!(done.attempts, 11);
    // The transaction is still usable, and commits everything written.
    let after = members.create_in_op(&mut op, NewMember::fresh()).await?;
    op.commit().await?;
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(exists(&pool, *id).await, !failed.contains(&i), "item {i}");
    }
    assert!(exists(&pool, before.id).await && exists(&pool, after.id).await);
    Ok(())
}

#[tokio::test]
async fn the_book_helper_reports_the_failed_items() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let news = eight(&members, &[7], &[]).await;
    let mut op = DbOp::init(&pool).await?;
    let failed = create_what_can_be(&members, &mut op, news).await;
    op.commit().await?;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, 7);
    assert!(failed[0].1.was_duplicate());
    Ok(())
}

#[tokio::test]
async fn on_the_pool_each_part_commits_by_itself() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let news = eight(&members, &[0], &[]).await;
    let ids: Vec<MemberId> = news.iter().map(|n| n.id).collect();
    let done = batch::isolate(news, async |part| members.create_all(part).await).await;
    assert_eq!(done.failed.len(), 1);
    assert_eq!(done.failed[0].index, 0);
    assert_eq!(done.written.len(), 7);
    // 0..8, 0..4, 0..2, 0..1, 1..2, 2..4, 4..8.
    assert_eq!(done.attempts, 7);
    assert!(!exists(&pool, ids[0]).await);
    for id in &ids[1..] {
        assert!(exists(&pool, *id).await);
    }
    Ok(())
}

#[tokio::test]
async fn update_all_isolates_the_stale_and_the_refused_entities() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let mut batch_members = Vec::new();
    for _ in 0..4 {
        batch_members.push(members.create(NewMember::fresh()).await?);
    }
    // Another writer moves member 1 on.
    let mut other = members.find_by_id(batch_members[1].id).await?;
    other.change_region("elsewhere");
    members.update(&mut other).await?;

    let original: Vec<String> = batch_members.iter().map(|m| m.region.clone()).collect();
    for member in &mut batch_members {
        member.change_region("batch");
    }
    // Member 3's new limit breaks the CHECK constraint.
    batch_members[3].change_credit_limit(-5);
    let mut op = DbOp::init(&pool).await?;
    let done = batch::isolate_mut_in_op(&mut op, &mut batch_members, async |sp, part| {
        members.update_all_in_op(sp, part).await
    })
    .await;
    op.commit().await?;
    assert!(done.stopped.is_none());
    let failed: Vec<usize> = done.failed.iter().map(|f| f.index).collect();
    assert_eq!(failed, [1, 3]);
    assert!(done.failed[0].error.is_concurrent_modification());
    assert!(done.failed[1].error.was_check_violation());
    let events: usize = done.written.iter().map(|(_, n)| n).sum();
    assert_eq!(events, 2);
    // The failed entities keep their events unpersisted; the others are stored.
    for (i, member) in batch_members.iter().enumerate() {
        let failed = i == 1 || i == 3;
        assert_eq!(member.events().any_new(), failed, "member {i}");
        let stored = members.find_by_id(member.id).await?;
        let want = match i {
            1 => "elsewhere",
            3 => original[3].as_str(),
            _ => "batch",
        };
        assert_eq!(stored.region, want, "member {i}");
    }

    // The pool variant, with nothing stale: one attempt.
    let mut fresh: Vec<Member> = Vec::new();
    for member in &batch_members {
        let mut m = members.find_by_id(member.id).await?;
        m.note("again");
        fresh.push(m);
    }
    let done = batch::isolate_mut(&mut fresh, async |part| members.update_all(part).await).await;
    assert!(done.is_clean());
    assert_eq!(done.attempts, 1);
    assert_eq!(done.written, [(0, 4)]);
    Ok(())
}

#[tokio::test]
async fn a_lost_connection_stops_the_batch() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let news = eight(&members, &[3], &[]).await;
    let mut op = DbOp::init(&pool).await?;
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(op.as_executor())
        .await?;
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1, 5000)")
        .bind(pid)
        .fetch_one(&pool)
        .await?;
    assert!(killed);
    let done = batch::isolate_in_op(&mut op, news, async |sp, part| {
        members.create_all_in_op(sp, part).await
    })
    .await;
    let stopped = done.stopped.as_ref().expect("the batch stops");
    assert!(stopped.stops_batch(), "{stopped:?}");
    assert_eq!(done.attempts, 1);
    assert!(done.written.is_empty() && done.failed.is_empty());
    let undecided: Vec<usize> = done.undecided.iter().map(|(i, _)| *i).collect();
    assert_eq!(undecided, (0..8).collect::<Vec<_>>());
    Ok(())
}

fn clean_batch(n: usize) -> Vec<NewMember> {
    (0..n).map(|_| NewMember::fresh()).collect()
}

#[tokio::test]
async fn a_clean_batch_costs_its_one_statement() {
    counting(|pool, counter: StatementCounter| async move {
        let members = Members::new(&pool);
        // On the pool: exactly the statement `create_all` sends.
        let news = clean_batch(5);
        counter.take();
        let done = batch::isolate(news, async |part| members.create_all(part).await).await;
        assert!(done.is_clean() && done.attempts == 1);
        let seen = counter.take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert!(seen[0].contains("INSERT INTO members"), "{}", seen[0]);

        // In a transaction: the statement inside a savepoint.
        let news = clean_batch(5);
        let mut op = DbOp::init(&pool).await.unwrap();
        counter.take();
        let done = batch::isolate_in_op(&mut op, news, async |sp, part| {
            members.create_all_in_op(sp, part).await
        })
        .await;
        assert!(done.is_clean() && done.attempts == 1);
        // sqlx sends `SAVEPOINT` as a simple query, which it does not log
        // (see the_counter_sees_each_statement_of_this_thread); the write
        // and the `RELEASE` are logged: three round trips in all.
        let seen = counter.take();
        assert_eq!(seen.len(), 2, "{seen:#?}");
        assert!(seen[0].contains("INSERT INTO members"), "{}", seen[0]);
        assert!(seen[1].starts_with("RELEASE SAVEPOINT"), "{}", seen[1]);
        op.commit().await.unwrap();
    })
    .await;
}
