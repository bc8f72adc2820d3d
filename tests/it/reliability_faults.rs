//! Faults: the server kills the connection in the middle of a multi-repo
//! transaction, statements time out behind a row lock, the pool runs dry.
//! Each is a typed error within a bounded time (never a hang), nothing of a
//! failed transaction is visible, and the same pool serves later calls.

use std::time::{Duration, Instant};

use es_entity::*;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::book_retry::{AccountId, AccountModifyError, Accounts, NewAccount};
use crate::quickstart::{NewUser, UserId, Users};
use crate::reliability_support::{options, sqlstate, unique, wide_pool};

/// Upper bound for "returns rather than hangs"; not a speed requirement.
const BOUND: Duration = Duration::from_secs(5);

async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, f)
        .await
        .unwrap_or_else(|_| panic!("{what} hung for {BOUND:?}"))
}

/// Kills the backend of `op`'s connection from another connection and waits
/// until it is gone.
async fn kill(observer: &PgPool, op: &mut impl AtomicOperation) -> i32 {
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(op.as_executor())
        .await
        .unwrap();
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1, 5000)")
        .bind(pid)
        .fetch_one(observer)
        .await
        .unwrap();
    assert!(killed, "backend {pid} terminated");
    pid
}

async fn count(pool: &PgPool, table: &str, id: Uuid) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE id = $1");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_connection_killed_mid_transaction_loses_the_whole_transaction() {
    let observer = es_entity_tests::pool().await;
    let pool = wide_pool(2).await;
    let (accounts, users) = (Accounts::new(pool.clone()), Users::new(pool.clone()));

    // A multi-repo write: an account and a user in one transaction.
    let mut op = accounts.begin_op().await.unwrap();
    let mut account = accounts
        .create_in_op(&mut op, NewAccount::named("killed"))
        .await
        .unwrap();
    let user_id = UserId::new();
    users
        .create_in_op(
            &mut op,
            NewUser {
                id: user_id,
                name: unique("killed"),
            },
        )
        .await
        .unwrap();
    let pid = kill(&observer, &mut op).await;

    account.deposit(5);
    let err = bounded(
        "update after the kill",
        accounts.update_in_op(&mut op, &mut account),
    )
    .await
    .unwrap_err();
    let ModifyError::Sqlx(cause) = &err else {
        panic!("expected ModifyError::Sqlx, got {err:?}");
    };
    assert!(is_transient_sqlx(cause), "{cause:?}");
    assert!(err.is_transient());
    assert!(
        account.events().any_new(),
        "the deposit is not marked persisted"
    );
    assert!(bounded("commit after the kill", op.commit()).await.is_err());
    println!("killed backend {pid} mid-transaction: update_in_op returned {cause:?}");

    // Nothing of the transaction is visible.
    let account_id = Uuid::from(account.id);
    let user_id = Uuid::from(user_id);
    assert_eq!(count(&observer, "accounts", account_id).await, 0);
    assert_eq!(count(&observer, "account_events", account_id).await, 0);
    assert_eq!(count(&observer, "users", user_id).await, 0);
    assert_eq!(count(&observer, "user_events", user_id).await, 0);

    // The same pool serves later operations, on both repositories.
    for i in 0..4 {
        let mut a = bounded(
            "create",
            accounts.create(NewAccount::named(&format!("after-{i}"))),
        )
        .await
        .unwrap();
        a.deposit(i);
        assert_eq!(accounts.update(&mut a).await.unwrap(), 1);
        assert_eq!(accounts.find_by_id(a.id).await.unwrap().balance, i);
        let u = users
            .create(NewUser {
                id: UserId::new(),
                name: unique("after"),
            })
            .await
            .unwrap();
        assert_eq!(users.find_by_id(u.id).await.unwrap().name, u.name);
    }
}

/// One deposit in its own transaction; on the first run the transaction's
/// connection is killed before the save.
async fn deposit_in_op(
    accounts: &Accounts,
    observer: &PgPool,
    id: AccountId,
    kill_first: bool,
) -> Result<usize, AccountModifyError> {
    let mut account = accounts.find_by_id(id).await.expect("loads");
    account.deposit(1);
    let mut op = accounts.begin_op().await?;
    if kill_first {
        kill(observer, &mut op).await;
    }
    let written = accounts.update_in_op(&mut op, &mut account).await?;
    op.commit().await?;
    Ok(written)
}

#[tokio::test]
async fn a_killed_connection_is_retried_only_when_opted_in() {
    let observer = es_entity_tests::pool().await;
    let pool = wide_pool(2).await;
    let accounts = Accounts::new(pool.clone());
    let id = accounts
        .create(NewAccount::named("flaky"))
        .await
        .unwrap()
        .id;
    let runs = std::sync::atomic::AtomicU32::new(0);
    let cycle = || {
        let first = runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 0;
        deposit_in_op(&accounts, &observer, id, first)
    };

    let policy = RetryPolicy::new(3).base_delay(Duration::from_millis(1));
    let err = bounded(
        "default policy",
        retry_on_concurrent_modification(&policy, cycle),
    )
    .await
    .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(
        runs.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "not retried by default"
    );

    runs.store(0, std::sync::atomic::Ordering::Relaxed);
    let opted_in = policy.retry_transient(true);
    let done = bounded(
        "opted-in policy",
        retry_on_concurrent_modification(&opted_in, cycle),
    )
    .await
    .unwrap();
    assert_eq!(done.attempts, 2);
    assert_eq!(
        accounts.find_by_id(id).await.unwrap().balance,
        1,
        "only the retried deposit landed"
    );
}

/// A pool whose connections run with `setting = value`.
async fn pool_with(setting: &str, value: &str) -> PgPool {
    es_entity_tests::pool().await;
    PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options().options([(setting, value)]))
        .await
        .unwrap()
}

/// Another transaction holds the account's row (`SELECT ... FOR UPDATE`):
/// `update` on a pool with `setting` fails with `code`, in bounded time;
/// reads are not blocked; after the lock is released the same update lands.
async fn blocked_update(setting: &str, code: &str) {
    let holder_pool = es_entity_tests::pool().await;
    let accounts = Accounts::new(pool_with(setting, "200ms").await);
    let id = accounts
        .create(NewAccount::named(setting))
        .await
        .unwrap()
        .id;
    let mut account = accounts.find_by_id(id).await.unwrap();
    account.deposit(5);

    let mut holder = holder_pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE")
        .bind(Uuid::from(id))
        .execute(&mut *holder)
        .await
        .unwrap();
    let started = Instant::now();
    let err = bounded("update behind a row lock", accounts.update(&mut account))
        .await
        .unwrap_err();
    let ModifyError::Sqlx(cause) = &err else {
        panic!("expected ModifyError::Sqlx, got {err:?}");
    };
    assert_eq!(sqlstate(cause).as_deref(), Some(code), "{cause:?}");
    assert!(!err.is_concurrent_modification());
    assert!(
        !err.is_transient(),
        "a timeout is not classified transient: retrying is the caller's call"
    );
    assert!(account.events().any_new(), "nothing marked persisted");
    println!(
        "{setting} = 200ms: update returned {code} after {:?}",
        started.elapsed()
    );

    // Readers do not wait for the row lock.
    assert_eq!(
        bounded("find behind a row lock", accounts.find_by_id(id))
            .await
            .unwrap()
            .balance,
        0
    );
    holder.rollback().await.unwrap();
    assert_eq!(accounts.update(&mut account).await.unwrap(), 1);
    assert_eq!(accounts.find_by_id(id).await.unwrap().balance, 5);
}

#[tokio::test]
async fn a_statement_timeout_is_a_typed_error_in_bounded_time() {
    blocked_update("statement_timeout", "57014").await;
}

#[tokio::test]
async fn a_lock_timeout_is_a_typed_error_in_bounded_time() {
    blocked_update("lock_timeout", "55P03").await;
}

#[tokio::test]
async fn an_exhausted_pool_is_a_typed_error_in_bounded_time() {
    es_entity_tests::pool().await;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_millis(200))
        .connect_with(options())
        .await
        .unwrap();
    let accounts = Accounts::new(pool.clone());
    let mut account = accounts
        .create(NewAccount::named("exhausted"))
        .await
        .unwrap();
    let id = account.id;

    let held = pool.acquire().await.unwrap();
    let timed_out = |e: &sqlx::Error| matches!(e, sqlx::Error::PoolTimedOut);
    match bounded("find", accounts.find_by_id(id)).await {
        Err(FindError::Sqlx(e)) if timed_out(&e) => {}
        other => panic!("expected FindError::Sqlx(PoolTimedOut), got {other:?}"),
    }
    match bounded("create", accounts.create(NewAccount::named("starved"))).await {
        Err(CreateError::Sqlx(e)) if timed_out(&e) => {}
        other => panic!("expected CreateError::Sqlx(PoolTimedOut), got {other:?}"),
    }
    account.deposit(2);
    match bounded("update", accounts.update(&mut account)).await {
        Err(err @ ModifyError::Sqlx(_)) => {
            assert!(
                matches!(&err, ModifyError::Sqlx(e) if timed_out(e)),
                "{err:?}"
            );
            assert!(err.is_transient(), "a pool time-out is transient");
        }
        other => panic!("expected ModifyError::Sqlx(PoolTimedOut), got {other:?}"),
    }
    match bounded("begin_op", accounts.begin_op()).await {
        Err(e) if timed_out(&e) => {}
        other => panic!("expected PoolTimedOut, got {other:?}"),
    }

    drop(held);
    assert_eq!(accounts.update(&mut account).await.unwrap(), 1);
    assert_eq!(accounts.find_by_id(id).await.unwrap().balance, 2);
    accounts.create(NewAccount::named("fed")).await.unwrap();

    pool.close().await;
    match accounts.find_by_id(id).await {
        Err(FindError::Sqlx(sqlx::Error::PoolClosed)) => {}
        other => panic!("expected PoolClosed, got {other:?}"),
    }
}
