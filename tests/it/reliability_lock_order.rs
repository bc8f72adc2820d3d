//! The order in which writes take an entity's locks. Two writers of one
//! entity must queue, and the later one must lose with
//! `ConcurrentModification`, whatever mix of `update` and `update_all` they
//! use and whatever order a batch lists its entities in. A writer that holds
//! one lock while waiting for another that the other writer holds is a
//! deadlock instead: PostgreSQL breaks it after `deadlock_timeout` (1 s by
//! default) by failing one of them with 40P01, an error the retry loop does
//! not retry unless the policy opts in to transient errors.
//!
//! Each race is made deterministic: an "other writer" transaction starts
//! first and takes the row lock of an entity (what `update` does first);
//! the writer under test starts and is observed waiting in
//! `pg_stat_activity`; then the other writer saves with `update_in_op` and
//! commits.

use std::time::Duration;

use es_entity::*;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::book_retry::{Account, AccountId, AccountModifyError, Accounts, NewAccount};
use crate::reliability_support::{options, sqlstate};

/// A one-connection repository and the backend pid of that connection.
async fn observed_writer() -> (Accounts, i32) {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .connect_with(options())
        .await
        .unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .unwrap();
    (Accounts::new(pool), pid)
}

/// Waits (at most 10 s) until backend `pid` waits for a lock.
async fn wait_until_blocked(observer: &PgPool, pid: i32) {
    let waiting = async {
        loop {
            let wait: Option<String> =
                sqlx::query_scalar("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1")
                    .bind(pid)
                    .fetch_optional(observer)
                    .await
                    .unwrap()
                    .flatten();
            if wait.as_deref() == Some("Lock") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the writer under test blocks on the other writer's lock");
}

async fn lock_row(op: &mut impl AtomicOperation, id: AccountId) {
    sqlx::query("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE")
        .bind(Uuid::from(id))
        .execute(op.as_executor())
        .await
        .unwrap();
}

/// `update` (one entity) or `update_all` (all of them) of the writer under test.
async fn write(
    repo: Accounts,
    mut batch: Vec<Account>,
    bulk: bool,
) -> Result<usize, AccountModifyError> {
    if bulk {
        repo.update_all(&mut batch).await
    } else {
        repo.update(&mut batch[0]).await
    }
}

/// Loads `ids` with a deposit each: a stale copy once the other writer commits.
async fn stale(accounts: &Accounts, ids: &[AccountId]) -> Vec<Account> {
    stale_with(accounts, ids, 3).await
}

/// As [`stale`], depositing `amount` (0 leaves the index row unchanged).
async fn stale_with(accounts: &Accounts, ids: &[AccountId], amount: i64) -> Vec<Account> {
    let mut out = Vec::new();
    for id in ids {
        let mut a = accounts.find_by_id(*id).await.unwrap();
        a.deposit(amount);
        out.push(a);
    }
    out
}

/// How the two writers ended.
#[derive(Debug)]
struct Outcome {
    other: Result<usize, String>,
    tested: Result<usize, AccountModifyError>,
}

impl Outcome {
    /// The other writer saved; the writer under test lost the race cleanly.
    fn assert_clean_loss(&self) {
        assert!(self.other.is_ok(), "the other writer saves: {self:?}");
        let lost = self
            .tested
            .as_ref()
            .is_err_and(|e| e.is_concurrent_modification());
        let deadlock = matches!(&self.tested, Err(ModifyError::Sqlx(e)) if sqlstate(e).as_deref() == Some("40P01"));
        assert!(
            lost,
            "the writer under test should lose with ConcurrentModification{}: {self:?}",
            if deadlock { ", not a deadlock" } else { "" }
        );
    }
}

/// The other writer holds the row of `first`, the writer under test writes
/// `tested` (`update_all` if `bulk`), then the other writer saves `first`
/// and `then` with `update_in_op` and commits.
async fn race(
    accounts: &Accounts,
    first: AccountId,
    then: Option<AccountId>,
    tested: Vec<AccountId>,
    bulk: bool,
) -> Outcome {
    race_with(accounts, first, then, tested, bulk, 3).await
}

/// [`race`], the writer under test depositing `amount` into each entity.
async fn race_with(
    accounts: &Accounts,
    first: AccountId,
    then: Option<AccountId>,
    tested: Vec<AccountId>,
    bulk: bool,
    amount: i64,
) -> Outcome {
    let pool = accounts.pool().clone();
    let copies = stale_with(accounts, &tested, amount).await;
    let mut theirs = stale(accounts, &[first]).await;
    if let Some(then) = then {
        theirs.extend(stale(accounts, &[then]).await);
    }
    let (repo, pid) = observed_writer().await;

    let mut op = accounts.begin_op().await.unwrap();
    lock_row(&mut op, first).await;
    let writer = tokio::spawn(write(repo, copies, bulk));
    wait_until_blocked(&pool, pid).await;
    let other = async {
        let mut written = 0;
        for account in &mut theirs {
            written += accounts.update_in_op(&mut op, account).await?;
        }
        Ok::<_, AccountModifyError>(written)
    };
    let other = tokio::time::timeout(Duration::from_secs(10), other)
        .await
        .expect("the other writer does not hang");
    let other = match other {
        Ok(written) => op
            .commit()
            .await
            .map(|_| written)
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let tested = tokio::time::timeout(Duration::from_secs(10), writer)
        .await
        .expect("the writer under test does not hang")
        .unwrap();
    Outcome { other, tested }
}

async fn one_account(accounts: &Accounts, prefix: &str) -> AccountId {
    accounts.create(NewAccount::named(prefix)).await.unwrap().id
}

#[tokio::test]
async fn update_racing_update_loses_cleanly() {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let id = one_account(&accounts, "race-uu").await;
    race(&accounts, id, None, vec![id], false)
        .await
        .assert_clean_loss();
}

#[tokio::test]
async fn update_all_racing_update_loses_cleanly() {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let id = one_account(&accounts, "race-au").await;
    race(&accounts, id, None, vec![id], true)
        .await
        .assert_clean_loss();
}

/// Two batches over the same two entities in opposite orders. The other
/// writer saves the lower id, then the higher one; the batch under test
/// lists the higher id first.
#[tokio::test]
async fn update_all_in_any_batch_order_loses_cleanly() {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let mut ids = [
        one_account(&accounts, "race-lo").await,
        one_account(&accounts, "race-hi").await,
    ];
    ids.sort();
    let (lo, hi) = (ids[0], ids[1]);
    race(&accounts, lo, Some(hi), vec![hi, lo], true)
        .await
        .assert_clean_loss();
}

/// A batch whose index rows do not change (deposits of 0: events only) still
/// locks them first, in id order: it waits for the other writer and loses
/// cleanly, whatever order it lists its entities in.
#[tokio::test]
async fn update_all_of_unchanged_rows_still_locks_and_loses_cleanly() {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let mut ids = [
        one_account(&accounts, "race-unchanged-lo").await,
        one_account(&accounts, "race-unchanged-hi").await,
    ];
    ids.sort();
    let (lo, hi) = (ids[0], ids[1]);
    race_with(&accounts, lo, Some(hi), vec![hi, lo], true, 0)
        .await
        .assert_clean_loss();
}

/// A single `update` whose index row does not change (a deposit of 0) still
/// locks the row first: it waits for the other writer and loses cleanly.
#[tokio::test]
async fn update_of_an_unchanged_row_still_locks_and_loses_cleanly() {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let id = one_account(&accounts, "race-unchanged-one").await;
    race_with(&accounts, id, None, vec![id], false, 0)
        .await
        .assert_clean_loss();
}
