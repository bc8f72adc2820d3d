//! The Projections chapter (book/src/projections.md): a balance projection
//! following `LedgerAccounts` while two tasks deposit with retry, and its
//! recorded version guarding a later write.

use std::time::Duration;

use es_entity::projection::{Projection, ProjectionRunner};
use es_entity::*;
use sqlx::PgPool;

use crate::feed::{
    BoxError, LedgerAccount, LedgerAccountEvent, LedgerAccountId, LedgerAccountModifyError,
    LedgerAccounts, NewLedgerAccount,
};

// ANCHOR: projection
/// `ledger_balances`: each account's balance and the version it is at.
pub struct Balances;

impl Projection for Balances {
    type Follows = LedgerAccounts;
    type Item = FeedEvent<LedgerAccountId, LedgerAccountEvent>;
    type Error = sqlx::Error;

    fn name(&self) -> &str {
        "balances"
    }

    async fn handle(
        &self,
        op: &mut impl AtomicOperation,
        item: &Self::Item,
    ) -> Result<(), sqlx::Error> {
        let amount = match &item.event {
            LedgerAccountEvent::Opened { .. } => 0,
            LedgerAccountEvent::Deposited { amount } => *amount,
        };
        sqlx::query!(
            "INSERT INTO ledger_balances (account_id, balance, version) VALUES ($1, $2, $3)
             ON CONFLICT (account_id) DO UPDATE
             SET balance = ledger_balances.balance + EXCLUDED.balance, version = EXCLUDED.version",
            uuid::Uuid::from(item.entity_id),
            amount,
            i32::try_from(item.sequence).expect("a sequence fits the INT4 column"),
        )
        .execute(op.as_executor())
        .await?;
        Ok(())
    }

    async fn reset(&self, op: &mut impl AtomicOperation) -> Result<(), sqlx::Error> {
        sqlx::query!("DELETE FROM ledger_balances")
            .execute(op.as_executor())
            .await?;
        Ok(())
    }
}
// ANCHOR_END: projection

// ANCHOR: read_model
/// The balance and version the projection recorded for an account.
pub async fn recorded(pool: &PgPool, id: LedgerAccountId) -> Result<(i64, i32), sqlx::Error> {
    let row = sqlx::query!(
        "SELECT balance, version FROM ledger_balances WHERE account_id = $1",
        uuid::Uuid::from(id),
    )
    .fetch_one(pool)
    .await?;
    Ok((row.balance, row.version))
}
// ANCHOR_END: read_model

// ANCHOR: deposits
/// Two tasks deposit 1, fifty times each, retrying lost races, while the
/// projection follows; then a caller waits for the projection to see the
/// last deposit (read-your-writes).
pub async fn deposit_while_following(pool: &PgPool) -> Result<LedgerAccountId, BoxError> {
    let accounts = LedgerAccounts::new(pool);
    let balances = ProjectionRunner::new(pool.clone(), Balances).spawn();

    let account = accounts.create(NewLedgerAccount::new("alice", &[])).await?;
    let id = account.id;
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let accounts = accounts.clone();
            tokio::spawn(async move {
                for _ in 0..50 {
                    accounts
                        .update_with_retry(id, &RetryPolicy::new(100), |a| a.deposit(1))
                        .await?;
                }
                Ok::<(), BoxError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }

    let account: LedgerAccount = accounts.find_by_id(id).await?;
    let written = accounts
        .feed_checkpoint_of(&account)
        .await?
        .expect("stored");
    balances.wait_for(written, Duration::from_secs(60)).await?;
    assert_eq!(account.balance, 100);
    assert_eq!(recorded(pool, id).await?, (100, 101));
    balances.stop().await?;
    Ok(id)
}
// ANCHOR_END: deposits

// ANCHOR: version_guard
/// Pays out the whole balance the projection shows, but only if the account
/// is still at the version the projection recorded it at: a deposit the
/// projection has not seen yet makes the write fail instead of paying out
/// from a stale balance.
pub async fn pay_out_recorded(
    pool: &PgPool,
    accounts: &LedgerAccounts,
    id: LedgerAccountId,
) -> Result<Result<i64, LedgerAccountModifyError>, BoxError> {
    let (balance, version) = recorded(pool, id).await?;
    let mut account = accounts.find_by_id(id).await?;
    account.deposit(-balance);
    let expected = ExpectedVersion::Exact(usize::try_from(version)?);
    Ok(accounts
        .update_expecting(&mut account, expected)
        .await
        .map(|_| balance))
}
// ANCHOR_END: version_guard

#[tokio::test]
async fn deposits_then_a_version_guarded_payout() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let accounts = LedgerAccounts::new(&pool);
    let id = deposit_while_following(&pool).await?;

    // The projection is stopped, so it does not see this deposit: the
    // version it recorded (101) is stale and guards the payout.
    let mut account = accounts.find_by_id(id).await?;
    account.deposit(8);
    accounts.update(&mut account).await?;
    let err = pay_out_recorded(&pool, &accounts, id).await?.unwrap_err();
    assert!(err.is_concurrent_modification(), "{err}");
    assert_eq!(err.conflict_versions(), Some((101, Some(102))));

    // Once the projection catches up, the payout goes through at 102.
    let balances = ProjectionRunner::new(pool.clone(), Balances).spawn();
    let written = accounts
        .feed_checkpoint_of(&account)
        .await?
        .expect("stored");
    balances.wait_for(written, Duration::from_secs(60)).await?;
    assert_eq!(pay_out_recorded(&pool, &accounts, id).await?.unwrap(), 108);
    assert_eq!(accounts.find_by_id(id).await?.balance, 0);
    balances.stop().await?;
    Ok(())
}
