//! `Account`: the entity of the concurrency chapter, with retried deposits.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use es_entity::*;
use serde::{Deserialize, Serialize};

entity_id! { AccountId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "AccountId")]
pub enum AccountEvent {
    Opened { name: String },
    Deposited { amount: i64 },
    Withdrawn { amount: i64 },
}

#[derive(EsEntity, Debug)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub balance: i64,
    events: EntityEvents<AccountEvent>,
}

impl Account {
    pub fn deposit(&mut self, amount: i64) {
        self.balance += amount;
        self.events.push(AccountEvent::Deposited { amount });
    }

    pub fn withdraw(&mut self, amount: i64) {
        self.balance -= amount;
        self.events.push(AccountEvent::Withdrawn { amount });
    }
}

impl TryFromEvents<AccountEvent> for Account {
    fn try_from_events(events: EntityEvents<AccountEvent>) -> Result<Self, EntityHydrationError> {
        let mut name = None;
        let mut balance = 0;
        for event in events.iter_all() {
            match event {
                AccountEvent::Opened { name: n } => name = Some(n.clone()),
                AccountEvent::Deposited { amount } => balance += amount,
                AccountEvent::Withdrawn { amount } => balance -= amount,
            }
        }
        let name = name.ok_or_else(|| events.missing_field("name"))?;
        Ok(Account {
            id: *events.id(),
            name,
            balance,
            events,
        })
    }
}

pub struct NewAccount {
    pub id: AccountId,
    pub name: String,
}

impl NewAccount {
    pub fn named(prefix: &str) -> Self {
        let id = AccountId::new();
        Self {
            id,
            name: format!("{prefix}-{id}"),
        }
    }
}

impl IntoEvents<AccountEvent> for NewAccount {
    fn into_events(self) -> EntityEvents<AccountEvent> {
        EntityEvents::init(self.id, [AccountEvent::Opened { name: self.name }])
    }
}

// The index row mirrors the balance: `update` refreshes it with every write.
#[derive(EsRepo, Clone)]
#[es_repo(
    entity = "Account",
    columns(
        name = "String",
        balance(ty = "i64", create(accessor = "initial_balance()"))
    )
)]
pub struct Accounts {
    pool: sqlx::PgPool,
}

impl NewAccount {
    fn initial_balance(&self) -> i64 {
        0
    }
}

impl Accounts {
    pub fn new(pool: sqlx::PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }
}

// ANCHOR: attribute
impl Accounts {
    /// Load, deposit, save; on a lost race the whole method runs again. No
    /// options: 4 attempts (3 retries), delays from 5 ms up to 500 ms.
    #[retry_on_concurrent_modification]
    pub async fn deposit(&self, id: AccountId, amount: i64) -> Result<i64, AccountModifyError> {
        let mut account = self.find_by_id(id).await.map_err(|e| match e {
            FindError::Sqlx(e) => ModifyError::Sqlx(e),
            other => panic!("account {id} not loadable: {other}"),
        })?;
        account.deposit(amount);
        self.update(&mut account).await?;
        Ok(account.balance)
    }
}
// ANCHOR_END: attribute

// ANCHOR: attribute_tuned
impl Accounts {
    /// The same for an account many writers hit at once: more attempts,
    /// shorter delays.
    #[retry_on_concurrent_modification(max_retries = 20, base_delay_ms = 1, max_delay_ms = 50)]
    pub async fn deposit_hot(&self, id: AccountId, amount: i64) -> Result<i64, AccountModifyError> {
        let mut account = self.find_by_id(id).await.map_err(|e| match e {
            FindError::Sqlx(e) => ModifyError::Sqlx(e),
            other => panic!("account {id} not loadable: {other}"),
        })?;
        account.deposit(amount);
        tokio::task::yield_now().await; // widen the race window for the tests
        self.update(&mut account).await?;
        Ok(account.balance)
    }
}
// ANCHOR_END: attribute_tuned

// ANCHOR: function
/// Load, deposit, save, as one retried cycle.
pub async fn deposit(
    accounts: &Accounts,
    id: AccountId,
    amount: i64,
    policy: &RetryPolicy,
) -> Result<Retried<usize>, AccountModifyError> {
    retry_on_concurrent_modification(policy, || async {
        let mut account = accounts.find_by_id(id).await.expect("loads");
        account.deposit(amount);
        tokio::task::yield_now().await; // widen the race window for the tests
        accounts.update(&mut account).await
    })
    .await
}
// ANCHOR_END: function

#[tokio::test]
async fn the_defaults() -> Result<(), Box<dyn std::error::Error>> {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let id = accounts.create(NewAccount::named("defaults")).await?.id;
    // ANCHOR: function_use
    let done = deposit(&accounts, id, 10, &RetryPolicy::default()).await?;
    assert_eq!(done.value, 1); // one event written
    // ANCHOR_END: function_use
    assert_eq!(done.attempts, 1, "nobody else writes this account");
    assert_eq!(accounts.deposit(id, 5).await?, 15);

    // What the chapter states as the defaults.
    let policy = RetryPolicy::default();
    assert_eq!(policy.max_attempts(), 5);
    assert_eq!(policy.delay_bound(1), std::time::Duration::from_millis(5));
    assert_eq!(
        policy.delay_bound(100),
        std::time::Duration::from_millis(500)
    );
    assert_eq!(policy, RetryPolicy::new(5));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_lose_nothing() -> Result<(), Box<dyn std::error::Error>> {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let account = accounts.create(NewAccount::named("counter")).await?;
    let id = account.id;
    let attempts = Arc::new(AtomicU32::new(0));
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (accounts, attempts) = (accounts.clone(), attempts.clone());
        tasks.push(tokio::spawn(async move {
            // ANCHOR: function_tuned
            let policy = RetryPolicy::new(50).base_delay(std::time::Duration::from_micros(200));
            // ANCHOR_END: function_tuned
            for _ in 0..50 {
                let done = deposit(&accounts, id, 1, &policy)
                    .await
                    .expect("deposit lands within the policy");
                attempts.fetch_add(done.attempts, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let account = accounts.find_by_id(id).await?;
    assert_eq!(account.balance, 100);
    let deposits = account
        .events()
        .iter_persisted()
        .filter(|e| matches!(e.event, AccountEvent::Deposited { .. }))
        .count();
    assert_eq!(deposits, 100);
    let sequences: Vec<_> = account
        .events()
        .iter_persisted()
        .map(|e| e.sequence)
        .collect();
    assert_eq!(sequences, (1..=101).collect::<Vec<_>>());
    let index_balance: i64 = sqlx::query_scalar("SELECT balance FROM accounts WHERE id = $1")
        .bind(uuid::Uuid::from(id))
        .fetch_one(accounts.pool())
        .await?;
    assert_eq!(index_balance, 100);
    let conflicts = attempts.load(Ordering::Relaxed) - 100;
    println!("2 writers x 50 deposits: {conflicts} conflicts retried");
    assert!(conflicts >= 1, "the writers were made to contend");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_attribute_retries_the_whole_method() -> Result<(), Box<dyn std::error::Error>> {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let id = accounts.create(NewAccount::named("attr")).await?.id;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let accounts = accounts.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                accounts
                    .deposit_hot(id, 5)
                    .await
                    .expect("retried until it lands");
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let account = accounts.find_by_id(id).await?;
    assert_eq!(account.balance, 4 * 10 * 5);
    assert_eq!(account.events().len_persisted(), 1 + 40);
    Ok(())
}

#[tokio::test]
async fn retries_stop_at_the_policy_limit_and_other_errors_are_not_retried() {
    #[derive(Debug)]
    struct Lost;
    impl RetryableError for Lost {
        fn concurrent_modification(&self) -> Option<Conflict> {
            Some(Conflict {
                entity: "Account",
                entity_id: "x".into(),
                expected_sequence: 2,
                expected_version: 1,
                actual_version: None,
            })
        }
    }
    let calls = AtomicU32::new(0);
    let policy = RetryPolicy::new(3).base_delay(std::time::Duration::ZERO);
    let result: Result<Retried<()>, Lost> = retry_on_concurrent_modification(&policy, || async {
        calls.fetch_add(1, Ordering::Relaxed);
        Err(Lost)
    })
    .await;
    assert!(result.is_err());
    assert_eq!(calls.load(Ordering::Relaxed), 3);

    #[derive(Debug)]
    struct Other;
    impl RetryableError for Other {
        fn concurrent_modification(&self) -> Option<Conflict> {
            None
        }
    }
    let calls = AtomicU32::new(0);
    let result: Result<Retried<()>, Other> = retry_on_concurrent_modification(&policy, || async {
        calls.fetch_add(1, Ordering::Relaxed);
        Err(Other)
    })
    .await;
    assert!(result.is_err());
    assert_eq!(
        calls.load(Ordering::Relaxed),
        1,
        "only conflicts are retried by default"
    );
}

#[test]
fn backoff_grows_exponentially_with_full_jitter() {
    let policy = RetryPolicy::new(10)
        .base_delay(std::time::Duration::from_millis(4))
        .max_delay(std::time::Duration::from_millis(50));
    let bounds: Vec<_> = (1..=6).map(|n| policy.delay_bound(n).as_millis()).collect();
    assert_eq!(bounds, [4, 8, 16, 32, 50, 50]);
    let delays: Vec<_> = (0..200).map(|_| policy.delay(3)).collect();
    assert!(delays.iter().all(|d| d.as_millis() <= 16));
    assert!(
        delays.iter().any(|d| d.as_millis() < 8),
        "jitter reaches below half the bound"
    );
}

#[tokio::test]
async fn the_attribute_without_options_makes_four_attempts() {
    #[derive(Debug)]
    struct Lost;
    impl RetryableError for Lost {
        fn concurrent_modification(&self) -> Option<Conflict> {
            Some(Conflict {
                entity: "Account",
                entity_id: "x".into(),
                expected_sequence: 2,
                expected_version: 1,
                actual_version: None,
            })
        }
    }
    struct AlwaysLoses {
        calls: AtomicU32,
    }
    impl AlwaysLoses {
        #[retry_on_concurrent_modification]
        async fn save(&self) -> Result<(), Lost> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            Err(Lost)
        }
    }
    let repo = AlwaysLoses {
        calls: AtomicU32::new(0),
    };
    let started = std::time::Instant::now();
    assert!(repo.save().await.is_err());
    assert_eq!(
        repo.calls.load(Ordering::Relaxed),
        4,
        "3 retries by default"
    );
    // Delays of at most 5, 10 and 20 ms (RetryPolicy's default bounds).
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}
