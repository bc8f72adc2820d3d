//! Many writers × many entities: 16 tasks × 8 accounts × 50 random mutations
//! each (deposits, withdrawals the balance must cover, several events in one
//! write, batches of several accounts through `update_all`), every one a
//! load → mutate → save cycle run through retry, in the function form and in
//! the attribute form, on real concurrent connections.
//!
//! Afterwards an invariant checker reads every account back and confirms:
//! sequences are exactly 1..n (plain SQL), the index row's balance is the
//! hydrated entity's, the balance is the sum of what the successful writes
//! applied, and the number of events is exactly the number the successful
//! writes wrote: nothing lost, nothing duplicated.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use es_entity::*;

use crate::book_retry::{
    Account, AccountEvent, AccountFindError, AccountId, AccountModifyError, AccountQueryError,
    Accounts, NewAccount,
};
use crate::reliability_support::{Rng, sqlstate, unique, wide_pool};

const TASKS: usize = 16;
const ACCOUNTS: usize = 8;
const MUTATIONS: usize = 50;
/// Fixes every task's plan; only the interleaving is left to the machine.
const SEED: u64 = 0x5EED_2026_1122;

/// One change a mutation asks for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    Deposit(i64),
    /// Only applied when the balance covers it (decided on the loaded state,
    /// which is why a lost race must reload before trying again).
    Withdraw(i64),
}

/// What the successful attempt of a mutation wrote to one account.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Applied {
    id: AccountId,
    events: usize,
    delta: i64,
}

/// A cycle loads (`FindError`, `QueryError`) and saves (`ModifyError`): the
/// retry loop understands it by delegating, as `RetryableError`'s docs suggest.
#[derive(Debug)]
pub(crate) enum CycleError {
    Find(AccountFindError),
    Query(AccountQueryError),
    Modify(AccountModifyError),
}

impl From<AccountQueryError> for CycleError {
    fn from(e: AccountQueryError) -> Self {
        Self::Query(e)
    }
}

impl From<AccountFindError> for CycleError {
    fn from(e: AccountFindError) -> Self {
        Self::Find(e)
    }
}

impl From<AccountModifyError> for CycleError {
    fn from(e: AccountModifyError) -> Self {
        Self::Modify(e)
    }
}

impl RetryableError for CycleError {
    fn concurrent_modification(&self) -> Option<Conflict> {
        match self {
            Self::Modify(e) => e.concurrent_modification(),
            Self::Find(_) | Self::Query(_) => None,
        }
    }

    fn is_transient(&self) -> bool {
        match self {
            Self::Modify(e) => e.is_transient(),
            Self::Find(FindError::Sqlx(e)) | Self::Query(QueryError::Sqlx(e)) => {
                is_transient_sqlx(e)
            }
            Self::Find(_) | Self::Query(_) => false,
        }
    }
}

/// Every failed attempt, by kind.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    attempts: AtomicU64,
    conflicts: AtomicU64,
    transient: AtomicU64,
    deadlocks: AtomicU64,
}

impl Counters {
    fn failed(&self, e: &CycleError) {
        if e.concurrent_modification().is_some() {
            self.conflicts.fetch_add(1, Ordering::Relaxed);
        } else if e.is_transient() {
            self.transient.fetch_add(1, Ordering::Relaxed);
            if let CycleError::Modify(ModifyError::Sqlx(db)) = e
                && sqlstate(db).as_deref() == Some("40P01")
            {
                self.deadlocks.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn get(n: &AtomicU64) -> u64 {
        n.load(Ordering::Relaxed)
    }
}

fn apply(account: &mut Account, ops: &[Op]) -> (usize, i64) {
    let (mut events, mut delta) = (0, 0);
    for op in ops {
        match *op {
            Op::Deposit(amount) => {
                account.deposit(amount);
                (events, delta) = (events + 1, delta + amount);
            }
            Op::Withdraw(amount) if account.balance >= amount => {
                account.withdraw(amount);
                (events, delta) = (events + 1, delta - amount);
            }
            Op::Withdraw(_) => {}
        }
    }
    (events, delta)
}

impl Accounts {
    /// One load → mutate → save cycle: `update` for one account, `update_all`
    /// for several.
    pub(crate) async fn torture_cycle(
        &self,
        plan: &[(AccountId, Vec<Op>)],
        counters: &Counters,
    ) -> Result<Vec<Applied>, CycleError> {
        counters.attempts.fetch_add(1, Ordering::Relaxed);
        let result = async {
            // One round trip to load: `find_by_id`, or `find_all` for a batch.
            let mut loaded = match plan {
                [(id, _)] => vec![self.find_by_id(*id).await?],
                _ => {
                    let ids: Vec<AccountId> = plan.iter().map(|(id, _)| *id).collect();
                    let mut found: HashMap<AccountId, Account> = self.find_all(&ids).await?;
                    ids.iter()
                        .map(|id| found.remove(id).expect("every account exists"))
                        .collect()
                }
            };
            let mut applied = Vec::with_capacity(plan.len());
            for (account, (id, ops)) in loaded.iter_mut().zip(plan) {
                let (events, delta) = apply(account, ops);
                applied.push(Applied {
                    id: *id,
                    events,
                    delta,
                });
            }
            tokio::task::yield_now().await; // let the other writers in
            let written = match loaded.as_mut_slice() {
                [one] => self.update(one).await?,
                many => self.update_all(many).await?,
            };
            assert_eq!(written, applied.iter().map(|a| a.events).sum::<usize>());
            Ok::<_, CycleError>(applied)
        }
        .await;
        if let Err(e) = &result {
            counters.failed(e);
        }
        result
    }

    /// The attribute form: every retry runs the whole body again, reloading.
    #[retry_on_concurrent_modification(max_retries = 200, transient = true)]
    pub(crate) async fn torture_retried(
        &self,
        plan: Vec<(AccountId, Vec<Op>)>,
        counters: Arc<Counters>,
    ) -> Result<Vec<Applied>, CycleError> {
        self.torture_cycle(&plan, &counters).await
    }
}

/// What one task did.
#[derive(Debug, Default)]
struct TaskReport {
    /// Mutations whose successful attempt wrote at least one event.
    writes_held: usize,
    /// Mutations that found nothing to write (withdrawals not covered).
    no_ops: usize,
    events: usize,
    via_update: usize,
    via_update_all: usize,
    via_attribute: usize,
    /// Events and balance change per account, from successful writes only.
    per_account: HashMap<AccountId, (usize, i64)>,
}

fn random_ops(rng: &mut Rng, several: bool) -> Vec<Op> {
    let n = if several { 2 + rng.below(2) } else { 1 };
    (0..n)
        .map(|_| {
            if rng.below(3) == 0 {
                Op::Withdraw(rng.between(1, 150))
            } else {
                Op::Deposit(rng.between(1, 100))
            }
        })
        .collect()
}

async fn writer(
    task: usize,
    accounts: Accounts,
    ids: Arc<Vec<AccountId>>,
    counters: Arc<Counters>,
) -> TaskReport {
    let mut rng = Rng::new(SEED ^ (task as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407));
    let policy = RetryPolicy::new(200)
        .base_delay(Duration::from_micros(500))
        .max_delay(Duration::from_millis(20))
        .retry_transient(true);
    let mut report = TaskReport::default();
    for _ in 0..MUTATIONS {
        // 45 %: one account; 55 %: a batch of 2 or 3 accounts. A third of
        // all plans ask for 2 or 3 events per account. (Every attempt loads
        // whole histories, hundreds of events by the end: more events per
        // write would mostly make the test slower.)
        let width = if rng.below(100) < 45 {
            1
        } else {
            2 + rng.below(2)
        };
        let several = rng.below(3) == 0;
        let plan: Vec<(AccountId, Vec<Op>)> = rng
            .distinct(width, ACCOUNTS)
            .into_iter()
            .map(|i| (ids[i], random_ops(&mut rng, several)))
            .collect();
        let attribute = rng.below(4) == 0;
        let applied = if attribute {
            accounts.torture_retried(plan, counters.clone()).await
        } else {
            retry_on_concurrent_modification(&policy, || accounts.torture_cycle(&plan, &counters))
                .await
                .map(|done| done.value)
        }
        .unwrap_or_else(|e| panic!("task {task}: a mutation failed for good: {e:?}"));
        let events: usize = applied.iter().map(|a| a.events).sum();
        if events == 0 {
            report.no_ops += 1;
            continue;
        }
        report.writes_held += 1;
        report.events += events;
        if width == 1 {
            report.via_update += 1;
        } else {
            report.via_update_all += 1;
        }
        if attribute {
            report.via_attribute += 1;
        }
        for a in applied {
            let entry = report.per_account.entry(a.id).or_default();
            entry.0 += a.events;
            entry.1 += a.delta;
        }
    }
    report
}

/// What the database holds for one account, checked against what the
/// successful writes say they wrote. Returns the number of stored events.
async fn check_account(
    accounts: &Accounts,
    id: AccountId,
    expected_events: usize,
    expected_balance: i64,
) -> usize {
    let pool = accounts.pool();
    let raw = uuid::Uuid::from(id);
    let sequences: Vec<i32> =
        sqlx::query_scalar("SELECT sequence FROM account_events WHERE id = $1 ORDER BY sequence")
            .bind(raw)
            .fetch_all(pool)
            .await
            .unwrap();
    let n = sequences.len() as i32;
    assert_eq!(
        sequences,
        (1..=n).collect::<Vec<_>>(),
        "{id}: sequences are exactly 1..n"
    );
    assert_eq!(
        sequences.len(),
        expected_events,
        "{id}: stored events = events of successful writes (lost or duplicated otherwise)"
    );

    let index_balance: i64 = sqlx::query_scalar("SELECT balance FROM accounts WHERE id = $1")
        .bind(raw)
        .fetch_one(pool)
        .await
        .unwrap();
    let account = accounts.find_by_id(id).await.expect("hydrates");
    assert_eq!(
        index_balance, account.balance,
        "{id}: index row = hydrated entity"
    );
    assert_eq!(
        account.balance, expected_balance,
        "{id}: balance = sum of applied changes"
    );
    assert_eq!(account.events().len_persisted(), sequences.len());

    // No withdrawal ever overdrew: each was decided on the latest state.
    let mut running = 0;
    for e in account.events().iter_persisted() {
        match e.event {
            AccountEvent::Opened { .. } => {}
            AccountEvent::Deposited { amount } => running += amount,
            AccountEvent::Withdrawn { amount } => running -= amount,
        }
        assert!(running >= 0, "{id}: overdrawn at event {}", e.sequence);
    }
    sequences.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_writers_many_accounts_lose_nothing() {
    let pool = wide_pool(TASKS as u32).await;
    let accounts = Accounts::new(pool.clone());
    let run = unique("torture");
    let news = (0..ACCOUNTS)
        .map(|i| NewAccount {
            id: AccountId::new(),
            name: format!("{run}-{i}"),
        })
        .collect::<Vec<_>>();
    let ids: Arc<Vec<AccountId>> = Arc::new(news.iter().map(|n| n.id).collect());
    accounts.create_all(news).await.unwrap();

    let counters = Arc::new(Counters::default());
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| tokio::spawn(writer(t, accounts.clone(), ids.clone(), counters.clone())))
        .collect();
    let mut reports = Vec::new();
    for t in tasks {
        reports.push(t.await.expect("writer task"));
    }
    let elapsed = started.elapsed();

    // Opened is every account's first event.
    let mut expected: HashMap<AccountId, (usize, i64)> =
        ids.iter().map(|id| (*id, (1, 0))).collect();
    for r in &reports {
        for (id, (events, delta)) in &r.per_account {
            let e = expected.get_mut(id).expect("a known account");
            e.0 += events;
            e.1 += delta;
        }
    }
    let mut stored = 0;
    for id in ids.iter() {
        let (events, balance) = expected[id];
        stored += check_account(&accounts, *id, events, balance).await;
    }

    let sum = |f: fn(&TaskReport) -> usize| reports.iter().map(f).sum::<usize>();
    let (held, events) = (sum(|r| r.writes_held), sum(|r| r.events));
    let written = ACCOUNTS + events; // the Opened events plus every write's
    let lost = written as i64 - stored as i64;
    let conflicts = Counters::get(&counters.conflicts);
    println!(
        "torture: {TASKS} tasks x {MUTATIONS} mutations on {ACCOUNTS} accounts (seed {SEED:#x}): \
         {held} writes held ({} update, {} update_all; {} through the attribute), {} no-ops, \
         {events} events; {} attempts, {conflicts} conflicts retried, {} transient errors retried \
         ({} deadlocks); stored {stored} events = written {written}: lost = {lost}, in {elapsed:.1?}",
        sum(|r| r.via_update),
        sum(|r| r.via_update_all),
        sum(|r| r.via_attribute),
        sum(|r| r.no_ops),
        Counters::get(&counters.attempts),
        Counters::get(&counters.transient),
        Counters::get(&counters.deadlocks),
    );
    let per_task: Vec<String> = reports
        .iter()
        .map(|r| format!("{}/{}", r.writes_held, r.events))
        .collect();
    println!(
        "torture, writes held / events per task: {}",
        per_task.join(" ")
    );
    assert_eq!(lost, 0);
    assert_eq!(
        held + sum(|r| r.no_ops),
        TASKS * MUTATIONS,
        "every mutation ended"
    );
    assert!(conflicts > 0, "the writers were made to contend");
}
