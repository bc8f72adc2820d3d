//! Races on create: many tasks, released together by a barrier on real
//! concurrent connections, create the same id or the same unique value.
//! Exactly one wins; every other one gets the typed duplicate error naming
//! the column, and nothing of the losers is stored.

use std::sync::Arc;

use es_entity::*;
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::book_retry::{AccountColumn, AccountCreateError, AccountId, Accounts, NewAccount};
use crate::reliability_support::{unique, warm, wide_pool};

const RACERS: usize = 16;

async fn racing_pool() -> sqlx::PgPool {
    let pool = wide_pool(RACERS as u32).await;
    warm(&pool, RACERS).await;
    pool
}

/// Runs `RACERS` creates at once; `make(i)` builds racer `i`'s account.
async fn race(
    accounts: &Accounts,
    make: impl Fn(usize) -> NewAccount,
) -> Vec<(AccountId, String, Result<(), AccountCreateError>)> {
    let barrier = Arc::new(Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let (accounts, barrier, new) = (accounts.clone(), barrier.clone(), make(i));
            tokio::spawn(async move {
                let (id, name) = (new.id, new.name.clone());
                barrier.wait().await;
                (id, name, accounts.create(new).await.map(|_| ()))
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

async fn stored(pool: &sqlx::PgPool, ids: &[AccountId], names: &[String]) -> (i64, i64) {
    let ids: Vec<Uuid> = ids.iter().map(|id| (*id).into()).collect();
    let index: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE id = ANY($1) OR name = ANY($2)")
            .bind(&ids)
            .bind(names)
            .fetch_one(pool)
            .await
            .unwrap();
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM account_events WHERE id = ANY($1)")
        .bind(&ids)
        .fetch_one(pool)
        .await
        .unwrap();
    (index, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_creates_of_one_id_one_wins() {
    let pool = racing_pool().await;
    let accounts = Accounts::new(pool.clone());
    let id = AccountId::new();
    let results = race(&accounts, |i| NewAccount {
        id,
        name: unique(&format!("same-id-{i}")),
    })
    .await;

    let winners: Vec<_> = results.iter().filter(|r| r.2.is_ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one create of the id wins");
    for (_, name, result) in results.iter().filter(|r| r.2.is_err()) {
        let err = result.as_ref().unwrap_err();
        assert!(
            matches!(err, CreateError::ConstraintViolation(_))
                && err.was_duplicate_by(AccountColumn::Id),
            "{name}: {err:?}"
        );
    }
    let names: Vec<String> = results.iter().map(|r| r.1.clone()).collect();
    assert_eq!(
        stored(&pool, &[id], &names).await,
        (1, 1),
        "one row, one event"
    );
    assert_eq!(accounts.find_by_id(id).await.unwrap().name, winners[0].1);
    println!(
        "create race on one id: {RACERS} racers, 1 won, {} duplicates on id",
        RACERS - 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_creates_of_one_name_one_wins() {
    let pool = racing_pool().await;
    let accounts = Accounts::new(pool.clone());
    let name = unique("same-name");
    let results = race(&accounts, |_| NewAccount {
        id: AccountId::new(),
        name: name.clone(),
    })
    .await;

    let winners: Vec<_> = results.iter().filter(|r| r.2.is_ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one create of the name wins");
    for (id, _, result) in results.iter().filter(|r| r.2.is_err()) {
        let err = result.as_ref().unwrap_err();
        assert!(err.was_duplicate_by(AccountColumn::Name), "{id}: {err:?}");
        assert_eq!(err.duplicate_value(), Some(name.as_str()));
    }
    let ids: Vec<AccountId> = results.iter().map(|r| r.0).collect();
    assert_eq!(
        stored(&pool, &ids, std::slice::from_ref(&name)).await,
        (1, 1),
        "only the winner is stored, with its one event"
    );
    assert_eq!(accounts.find_by_name(&name).await.unwrap().id, winners[0].0);
}

/// Batches that share one id: exactly one batch is stored, whole; of every
/// other batch nothing is, not even its accounts that collided with nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_create_all_batches_sharing_an_id_one_wins_whole() {
    let pool = racing_pool().await;
    let accounts = Accounts::new(pool.clone());
    let shared = AccountId::new();
    let barrier = Arc::new(Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let (accounts, barrier) = (accounts.clone(), barrier.clone());
            let mut batch = vec![NewAccount::named(&format!("own-{i}"))];
            batch.push(NewAccount {
                id: shared,
                name: unique(&format!("shared-{i}")),
            });
            batch.push(NewAccount::named(&format!("own2-{i}")));
            let ids: Vec<AccountId> = batch.iter().map(|n| n.id).collect();
            tokio::spawn(async move {
                barrier.wait().await;
                (ids, accounts.create_all(batch).await.map(|v| v.len()))
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        let (ids, result) = t.await.unwrap();
        let own = [ids[0], ids[2]];
        match result {
            Ok(n) => {
                won += 1;
                assert_eq!(n, 3);
                assert_eq!(stored(&pool, &own, &[]).await, (2, 2));
            }
            Err(err) => {
                assert!(err.was_duplicate_by(AccountColumn::Id), "{err:?}");
                assert_eq!(stored(&pool, &own, &[]).await, (0, 0), "all or nothing");
            }
        }
    }
    assert_eq!(won, 1, "exactly one batch wins");
    assert_eq!(stored(&pool, &[shared], &[]).await, (1, 1));
}
