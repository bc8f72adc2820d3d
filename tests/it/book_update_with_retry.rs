//! `update_with_retry` and a retried cycle with its own error type, shown in
//! book/src/concurrency.md. Keep the ANCHOR markers in place.

use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use es_entity::*;

use crate::book_retry::{Account, AccountColumn, AccountId, Accounts, NewAccount};

// ANCHOR: command
/// The command's own error.
#[derive(Debug, PartialEq)]
pub enum WithdrawError {
    Insufficient { balance: i64, wanted: i64 },
}

impl fmt::Display for WithdrawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Insufficient { balance, wanted } => {
                write!(f, "cannot withdraw {wanted} from a balance of {balance}")
            }
        }
    }
}

impl Error for WithdrawError {}

impl Account {
    /// Withdraws only what the balance covers; returns the new balance.
    pub fn withdraw_covered(&mut self, amount: i64) -> Result<i64, WithdrawError> {
        if amount > self.balance {
            return Err(WithdrawError::Insufficient {
                balance: self.balance,
                wanted: amount,
            });
        }
        self.withdraw(amount);
        Ok(self.balance)
    }
}
// ANCHOR_END: command

// ANCHOR: one_call
/// Load → withdraw → save, retried on lost races.
async fn withdraw(
    accounts: &Accounts,
    id: AccountId,
    amount: i64,
) -> Result<i64, UpdateWithRetryError<WithdrawError, AccountColumn>> {
    let done = accounts
        .update_with_retry(id, &RetryPolicy::default(), |account| {
            account.withdraw_covered(amount)
        })
        .await?;
    if done.attempts > 1 {
        println!("withdrawal landed after {} attempts", done.attempts);
    }
    Ok(done.value)
}
// ANCHOR_END: one_call

// ANCHOR: custom_error
/// Everything a transfer can fail with. `retry_on_concurrent_modification`
/// retries what `concurrent_modification()` reports, so only a lost race of
/// the save is retried; the rest is returned at once.
#[derive(Debug)]
pub enum TransferError {
    Load(es_entity::FindError<AccountColumn>),
    Save(es_entity::ModifyError<AccountColumn>),
    Withdraw(WithdrawError),
}

impl RetryableError for TransferError {
    fn concurrent_modification(&self) -> Option<Conflict> {
        match self {
            Self::Save(e) => e.concurrent_modification(),
            _ => None,
        }
    }

    fn is_transient(&self) -> bool {
        match self {
            Self::Save(e) => e.is_transient(),
            _ => false,
        }
    }
}

impl From<es_entity::FindError<AccountColumn>> for TransferError {
    fn from(e: es_entity::FindError<AccountColumn>) -> Self {
        Self::Load(e)
    }
}

impl From<es_entity::ModifyError<AccountColumn>> for TransferError {
    fn from(e: es_entity::ModifyError<AccountColumn>) -> Self {
        Self::Save(e)
    }
}

impl From<WithdrawError> for TransferError {
    fn from(e: WithdrawError) -> Self {
        Self::Withdraw(e)
    }
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Load(e) => write!(f, "transfer: {e}"),
            Self::Save(e) => write!(f, "transfer: {e}"),
            Self::Withdraw(e) => write!(f, "transfer: {e}"),
        }
    }
}

impl Error for TransferError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Load(e) => Some(e),
            Self::Save(e) => Some(e),
            Self::Withdraw(e) => Some(e),
        }
    }
}

impl Accounts {
    /// Two entities, saved together with `update_all`: beyond the one-call form.
    pub async fn transfer(
        &self,
        from: AccountId,
        to: AccountId,
        amount: i64,
        policy: &RetryPolicy,
    ) -> Result<Retried<()>, TransferError> {
        retry_on_concurrent_modification(policy, || async {
            let mut source = self.find_by_id(from).await?;
            let mut target = self.find_by_id(to).await?;
            source.withdraw_covered(amount)?;
            target.deposit(amount);
            self.update_all(&mut [source, target]).await?;
            Ok(())
        })
        .await
    }
}
// ANCHOR_END: custom_error

/// An account holding `balance`.
async fn funded(accounts: &Accounts, prefix: &str, balance: i64) -> AccountId {
    let mut account = accounts
        .create(NewAccount::named(prefix))
        .await
        .expect("created");
    account.deposit(balance);
    accounts.update(&mut account).await.expect("funded");
    account.id
}

async fn sequences(accounts: &Accounts, id: AccountId) -> Vec<i32> {
    sqlx::query_scalar("SELECT sequence FROM account_events WHERE id = $1 ORDER BY sequence")
        .bind(uuid::Uuid::from(id))
        .fetch_all(accounts.pool())
        .await
        .expect("sequences read")
}

async fn index_balance(accounts: &Accounts, id: AccountId) -> i64 {
    sqlx::query_scalar("SELECT balance FROM accounts WHERE id = $1")
        .bind(uuid::Uuid::from(id))
        .fetch_one(accounts.pool())
        .await
        .expect("index row read")
}

/// Another writer deposits `amount` into `id`, from inside a synchronous
/// command, and waits until it is stored: the command's own save then loses.
fn deposit_meanwhile(accounts: &Accounts, id: AccountId, amount: i64) {
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(async {
            let mut other = accounts.find_by_id(id).await.expect("loads");
            other.deposit(amount);
            accounts
                .update(&mut other)
                .await
                .expect("the other writer saves");
        })
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_race_is_retried_on_fresh_state() -> Result<(), Box<dyn Error>> {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let id = funded(&accounts, "lost-race", 100).await;
    let calls = AtomicU32::new(0);
    let seen = std::sync::Mutex::new(Vec::new());
    let policy = RetryPolicy::new(3).base_delay(Duration::from_millis(1));

    let done = accounts
        .update_with_retry(id, &policy, |account| {
            seen.lock().unwrap().push(account.balance);
            if calls.fetch_add(1, Ordering::Relaxed) == 0 {
                deposit_meanwhile(&accounts, id, 50);
            }
            account.withdraw_covered(30)
        })
        .await?;

    assert_eq!(done.attempts, 2, "the first save lost, the second landed");
    assert_eq!(calls.load(Ordering::Relaxed), 2);
    assert_eq!(
        *seen.lock().unwrap(),
        [100, 150],
        "the retry ran on the reloaded state"
    );
    assert_eq!(done.value, 120, "the value is the successful attempt's");
    // Opened, Deposited 100, Deposited 50 (the other writer), Withdrawn 30:
    // the losing attempt's withdrawal was not stored.
    assert_eq!(sequences(&accounts, id).await, [1, 2, 3, 4]);
    let account = accounts.find_by_id(id).await?;
    assert_eq!(account.balance, 120);
    assert_eq!(index_balance(&accounts, id).await, 120);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commands_error_is_returned_unretried_and_unsaved() -> Result<(), Box<dyn Error>> {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let id = funded(&accounts, "refused", 20).await;
    let calls = AtomicU32::new(0);

    let err = accounts
        .update_with_retry(id, &RetryPolicy::new(5), |account| {
            calls.fetch_add(1, Ordering::Relaxed);
            account.withdraw_covered(30)
        })
        .await
        .unwrap_err();

    assert_eq!(calls.load(Ordering::Relaxed), 1, "not retried");
    assert_eq!(
        err.command_error(),
        Some(&WithdrawError::Insufficient {
            balance: 20,
            wanted: 30
        })
    );
    assert!(!err.was_concurrent_modification() && !err.was_not_found());
    assert_eq!(err.to_string(), "cannot withdraw 30 from a balance of 20");
    assert_eq!(sequences(&accounts, id).await, [1, 2], "nothing stored");

    // The same through the book's wrapper, whose error keeps the steps apart.
    match withdraw(&accounts, id, 25).await {
        Err(UpdateWithRetryError::Command(WithdrawError::Insufficient { balance, .. })) => {
            assert_eq!(balance, 20)
        }
        other => panic!("expected the command's error, got {other:?}"),
    }
    assert_eq!(withdraw(&accounts, id, 5).await?, 15);
    assert_eq!(sequences(&accounts, id).await, [1, 2, 3]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_races_beyond_the_policy_return_the_save_error() -> Result<(), Box<dyn Error>> {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let id = funded(&accounts, "exhausted", 100).await;
    let calls = AtomicU32::new(0);
    let policy = RetryPolicy::new(2).base_delay(Duration::ZERO);

    // Every attempt loses: another writer always gets there first.
    let err = accounts
        .update_with_retry(id, &policy, |account| {
            calls.fetch_add(1, Ordering::Relaxed);
            deposit_meanwhile(&accounts, id, 1);
            account.withdraw_covered(10)
        })
        .await
        .unwrap_err();

    assert_eq!(calls.load(Ordering::Relaxed), 2, "the policy's 2 attempts");
    assert!(err.was_concurrent_modification(), "{err:?}");
    match &err {
        UpdateWithRetryError::Save(ModifyError::ConcurrentModification {
            entity_id,
            expected_sequence,
            expected_version,
            actual_version,
        }) => {
            assert_eq!(*entity_id, id);
            assert_eq!(*expected_sequence, 4, "the second attempt's next sequence");
            assert_eq!(*expected_version, 3);
            assert!(
                actual_version.is_some_and(|v| v > 3),
                "read after the failure: {actual_version:?}"
            );
        }
        other => panic!("expected the save's conflict, got {other:?}"),
    }
    assert!(err.concurrent_modification().is_some());
    // Only the other writer's deposits were stored.
    assert_eq!(sequences(&accounts, id).await, [1, 2, 3, 4]);
    assert_eq!(accounts.find_by_id(id).await?.balance, 102);
    Ok(())
}

#[tokio::test]
async fn a_missing_entity_is_a_load_error_and_the_command_never_runs() {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let missing = AccountId::new();
    let err = accounts
        .update_with_retry(
            missing,
            &RetryPolicy::new(5),
            |_: &mut Account| -> Result<(), WithdrawError> { panic!("no entity, no command") },
        )
        .await
        .unwrap_err();
    assert!(err.was_not_found(), "{err:?}");
    assert!(matches!(
        &err,
        UpdateWithRetryError::Load(FindError::NotFound {
            column: AccountColumn::Id,
            ..
        })
    ));
    assert!(err.command_error().is_none());
    assert!(err.to_string().contains(&missing.to_string()), "{err}");
}

#[tokio::test]
async fn idempotent_and_infallible_commands() -> Result<(), Box<dyn Error>> {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let id = funded(&accounts, "top-up", 40).await;
    let policy = RetryPolicy::default();
    // Tops the balance up to 100 once; a second run finds nothing to do.
    let top_up = |account: &mut Account| {
        if account.balance >= 100 {
            return Idempotent::AlreadyApplied;
        }
        account.deposit(100 - account.balance);
        Idempotent::Executed(account.balance)
    };

    let first = accounts.update_with_retry(id, &policy, top_up).await?;
    assert_eq!(first.value, Idempotent::Executed(100));
    assert_eq!(first.attempts, 1);
    let again = accounts.update_with_retry(id, &policy, top_up).await?;
    assert_eq!(again.value, Idempotent::AlreadyApplied);
    assert_eq!(
        sequences(&accounts, id).await,
        [1, 2, 3],
        "no event the second time"
    );

    // A command returning `()` cannot fail: only load and save errors remain.
    let done = accounts
        .update_with_retry(id, &policy, |account| account.deposit(5))
        .await?;
    assert_eq!((done.value, done.attempts), ((), 1));
    assert_eq!(accounts.find_by_id(id).await?.balance, 105);
    assert_eq!(index_balance(&accounts, id).await, 105);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_lose_nothing() -> Result<(), Box<dyn Error>> {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let id = funded(&accounts, "crowd", 0).await;
    let attempts = Arc::new(AtomicU32::new(0));
    let policy = RetryPolicy::new(100)
        .base_delay(Duration::from_micros(200))
        .max_delay(Duration::from_millis(20));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (accounts, attempts) = (accounts.clone(), attempts.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..20 {
                let done = accounts
                    .update_with_retry(id, &policy, |account| account.deposit(2))
                    .await
                    .expect("lands within the policy");
                attempts.fetch_add(done.attempts, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let account = accounts.find_by_id(id).await?;
    assert_eq!(account.balance, 4 * 20 * 2);
    assert_eq!(index_balance(&accounts, id).await, 160);
    // Opened, the funding deposit of 0, then exactly 80 deposits.
    assert_eq!(sequences(&accounts, id).await, (1..=82).collect::<Vec<_>>());
    let conflicts = attempts.load(Ordering::Relaxed) - 80;
    println!("4 writers x 20 update_with_retry deposits: {conflicts} conflicts retried");
    assert!(conflicts >= 1, "the writers were made to contend");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_with_their_own_error_type() -> Result<(), Box<dyn Error>> {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let a = funded(&accounts, "transfer-a", 100).await;
    let b = funded(&accounts, "transfer-b", 100).await;
    let policy = RetryPolicy::new(100)
        .base_delay(Duration::from_micros(200))
        .max_delay(Duration::from_millis(20));
    let attempts = Arc::new(AtomicU32::new(0));
    let mut tasks = Vec::new();
    for (from, to) in [(a, b), (b, a)] {
        let (accounts, attempts) = (accounts.clone(), attempts.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..15 {
                let done = accounts
                    .transfer(from, to, 3, &policy)
                    .await
                    .expect("both balances cover 3");
                attempts.fetch_add(done.attempts, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let (a_now, b_now) = (
        accounts.find_by_id(a).await?.balance,
        accounts.find_by_id(b).await?.balance,
    );
    assert_eq!((a_now, b_now), (100, 100), "as much went each way");
    assert_eq!(sequences(&accounts, a).await, (1..=32).collect::<Vec<_>>());
    println!(
        "2 x 15 opposite transfers: {} conflicts retried",
        attempts.load(Ordering::Relaxed) - 30
    );

    // The command's error is the transfer's, returned at once.
    let err = accounts
        .transfer(a, b, 500, &policy)
        .await
        .expect_err("not covered");
    assert!(
        matches!(
            err,
            TransferError::Withdraw(WithdrawError::Insufficient { wanted: 500, .. })
        ),
        "{err:?}"
    );
    assert!(err.concurrent_modification().is_none());
    assert!(err.source().is_some());
    let err = accounts
        .transfer(a, AccountId::new(), 1, &policy)
        .await
        .expect_err("no such target");
    assert!(
        matches!(&err, TransferError::Load(e) if e.was_not_found()),
        "{err:?}"
    );
    assert_eq!(sequences(&accounts, a).await.len(), 32, "nothing stored");
    Ok(())
}

/// `transfer`'s cycle with another writer saving the target between the
/// loads and the save: the batch loses once and the retry lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_that_loses_a_race_is_retried() -> Result<(), Box<dyn Error>> {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let a = funded(&accounts, "race-a", 50).await;
    let b = funded(&accounts, "race-b", 0).await;
    let policy = RetryPolicy::new(3).base_delay(Duration::ZERO);
    let first = AtomicU32::new(0);
    let done = retry_on_concurrent_modification(&policy, || async {
        let mut source = accounts.find_by_id(a).await?;
        let mut target = accounts.find_by_id(b).await?;
        source.withdraw_covered(20)?;
        target.deposit(20);
        if first.fetch_add(1, Ordering::Relaxed) == 0 {
            deposit_meanwhile(&accounts, b, 7);
        }
        accounts.update_all(&mut [source, target]).await?;
        Ok::<_, TransferError>(())
    })
    .await?;
    assert_eq!(done.attempts, 2);
    assert_eq!(accounts.find_by_id(a).await?.balance, 30);
    assert_eq!(accounts.find_by_id(b).await?.balance, 27);
    Ok(())
}
