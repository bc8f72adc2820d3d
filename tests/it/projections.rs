//! Checkpointed projections under load and faults, on real connections:
//! 16 concurrent writers and a long transaction, a runner killed mid-batch,
//! two runners with one name, notifications and polling, a corrupt row,
//! a rebuild.
//!
//! Each test uses projection names of its own and starts after its runner
//! is active (`StartFrom::Now`), so tests sharing the database and its
//! tables do not see each other's read models. The tracking projection
//! checks each entity's events arrive in sequence order exactly once: a
//! repeat or a gap is a handler error that stops the runner, and the test
//! then fails on its wait.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use es_entity::projection::{
    Projection, ProjectionError, ProjectionHandle, ProjectionRunner, StartFrom, WaitError,
};
use es_entity::*;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::feed::{
    LedgerAccount, LedgerAccountEvent, LedgerAccountId, LedgerAccounts, LedgerFeedEvent,
    LedgerNoteEvent, LedgerNoteId, LedgerNotes, NewLedgerAccount, NewLedgerNote,
};
use crate::repo_fixtures::unique;

const WAIT: Duration = Duration::from_secs(120);

/// Why the tracking projection refused an event.
#[derive(Debug)]
pub enum TrackError {
    Db(sqlx::Error),
    OutOfOrder {
        entity: Uuid,
        expected: i32,
        found: i32,
    },
    /// Two handlers ran at once (two runners working on one name).
    Overlap,
    /// The handler refuses this probe.
    Refused(i64),
    /// A failure the projection calls transient.
    Flaky,
}

impl std::fmt::Display for TrackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Db(e) => write!(f, "{e}"),
            Self::OutOfOrder {
                entity,
                expected,
                found,
            } => write!(f, "entity {entity}: expected event {expected}, got {found}"),
            Self::Overlap => f.write_str("two handlers ran at once"),
            Self::Refused(n) => write!(f, "probe {n} refused"),
            Self::Flaky => f.write_str("flaky"),
        }
    }
}

impl std::error::Error for TrackError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Db(e) => Some(e),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for TrackError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

/// Applies one event to `projection_entities`: refuses any sequence but the
/// next, counts events, sums deposits.
async fn track(
    op: &mut impl AtomicOperation,
    projection: &str,
    entity: Uuid,
    sequence: usize,
    amount: i64,
) -> Result<(), TrackError> {
    let sequence = i32::try_from(sequence).expect("a sequence fits the INT4 column");
    let last: Option<i32> = sqlx::query_scalar(
        "SELECT last_sequence FROM projection_entities WHERE projection = $1 AND entity_id = $2",
    )
    .bind(projection)
    .bind(entity)
    .fetch_optional(op.as_executor())
    .await?;
    let expected = last.unwrap_or(0) + 1;
    if sequence != expected {
        return Err(TrackError::OutOfOrder {
            entity,
            expected,
            found: sequence,
        });
    }
    sqlx::query(
        "INSERT INTO projection_entities (projection, entity_id, last_sequence, events, balance)
         VALUES ($1, $2, $3, 1, $4)
         ON CONFLICT (projection, entity_id) DO UPDATE
         SET last_sequence = EXCLUDED.last_sequence,
             events = projection_entities.events + 1,
             balance = projection_entities.balance + EXCLUDED.balance",
    )
    .bind(projection)
    .bind(entity)
    .bind(sequence)
    .bind(amount)
    .execute(op.as_executor())
    .await?;
    Ok(())
}

/// Hooks a test sets on a [`Ledger`] projection.
#[derive(Default)]
struct Hooks {
    /// Events handled, across runners sharing these hooks.
    handled: AtomicUsize,
    /// Handlers running right now.
    running: AtomicUsize,
    /// Handler calls per entity, committed or not.
    calls: std::sync::Mutex<HashMap<Uuid, usize>>,
    /// At this many handled events, signal `paused` and sleep `pause`.
    pause_at: Option<usize>,
    pause: Duration,
    paused: tokio::sync::Notify,
}

/// Follows accounts and notes in one order into `projection_entities`.
struct Ledger {
    name: String,
    hooks: Arc<Hooks>,
}

impl Projection for Ledger {
    type Follows = (LedgerAccounts, LedgerNotes);
    type Item = LedgerFeedEvent;
    type Error = TrackError;

    fn name(&self) -> &str {
        &self.name
    }

    async fn handle(
        &self,
        op: &mut impl AtomicOperation,
        item: &LedgerFeedEvent,
    ) -> Result<(), TrackError> {
        if self.hooks.running.fetch_add(1, Ordering::SeqCst) != 0 {
            self.hooks.running.fetch_sub(1, Ordering::SeqCst);
            return Err(TrackError::Overlap);
        }
        let handled = self.hooks.handled.fetch_add(1, Ordering::SeqCst) + 1;
        if self.hooks.pause_at == Some(handled) {
            self.hooks.paused.notify_one();
            tokio::time::sleep(self.hooks.pause).await;
        }
        let (entity, sequence, amount) = match item {
            LedgerFeedEvent::Account(e) => (
                Uuid::from(e.entity_id),
                e.sequence,
                match e.event {
                    LedgerAccountEvent::Deposited { amount } => amount,
                    LedgerAccountEvent::Opened { .. } => 0,
                },
            ),
            LedgerFeedEvent::Note(e) => (
                Uuid::from(e.entity_id),
                e.sequence,
                match e.event {
                    LedgerNoteEvent::Written { .. } | LedgerNoteEvent::Edited { .. } => 0,
                },
            ),
        };
        *self.hooks.calls.lock().unwrap().entry(entity).or_default() += 1;
        let result = track(op, &self.name, entity, sequence, amount).await;
        self.hooks.running.fetch_sub(1, Ordering::SeqCst);
        result
    }

    async fn reset(&self, op: &mut impl AtomicOperation) -> Result<(), TrackError> {
        sqlx::query("DELETE FROM projection_entities WHERE projection = $1")
            .bind(&self.name)
            .execute(op.as_executor())
            .await?;
        Ok(())
    }
}

/// Follows accounts alone: one events table, no merge.
struct AccountsOnly {
    name: String,
}

impl Projection for AccountsOnly {
    type Follows = LedgerAccounts;
    type Item = FeedEvent<LedgerAccountId, LedgerAccountEvent>;
    type Error = TrackError;

    fn name(&self) -> &str {
        &self.name
    }

    async fn handle(
        &self,
        op: &mut impl AtomicOperation,
        item: &Self::Item,
    ) -> Result<(), TrackError> {
        let amount = match item.event {
            LedgerAccountEvent::Deposited { amount } => amount,
            LedgerAccountEvent::Opened { .. } => 0,
        };
        track(
            op,
            &self.name,
            Uuid::from(item.entity_id),
            item.sequence,
            amount,
        )
        .await
    }
}

fn ledger(name: &str, hooks: &Arc<Hooks>) -> Ledger {
    Ledger {
        name: name.to_owned(),
        hooks: hooks.clone(),
    }
}

/// A runner that starts at the feed's present, checks for standby every
/// 100 ms and retries quickly.
fn runner<P: Projection>(pool: &PgPool, projection: P) -> ProjectionRunner<P> {
    ProjectionRunner::new(pool.clone(), projection)
        .start_from(StartFrom::Now)
        .standby_interval(Duration::from_millis(100))
        .retry_backoff(Duration::from_millis(20), Duration::from_millis(500))
}

async fn active<E: std::error::Error + Send + Sync + 'static>(handle: &ProjectionHandle<E>) {
    assert!(
        handle.wait_until_active(WAIT).await,
        "runner {} never became active",
        handle.name()
    );
}

/// The read model of `projection`: entity → (last sequence, events, balance).
async fn read_model(pool: &PgPool, projection: &str) -> HashMap<Uuid, (i32, i64, i64)> {
    sqlx::query_as::<_, (Uuid, i32, i64, i64)>(
        "SELECT entity_id, last_sequence, events, balance FROM projection_entities WHERE projection = $1",
    )
    .bind(projection)
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .map(|(id, seq, events, balance)| (id, (seq, events, balance)))
    .collect()
}

/// The rows of `model` for the entities of `expected`; other tests write
/// to the same tables while a projection follows them.
fn only<V: Clone>(model: &HashMap<Uuid, V>, expected: &HashMap<Uuid, V>) -> HashMap<Uuid, V> {
    model
        .iter()
        .filter(|(id, _)| expected.contains_key(id))
        .map(|(id, v)| (*id, v.clone()))
        .collect()
}

/// What a full replay of `accounts` says the read model holds for them.
fn replayed(accounts: &[LedgerAccount]) -> HashMap<Uuid, (i32, i64, i64)> {
    accounts
        .iter()
        .map(|a| {
            let n = a.events().len_persisted();
            (
                Uuid::from(a.id),
                (i32::try_from(n).unwrap(), n as i64, a.balance),
            )
        })
        .collect()
}

/// The checkpoint of the latest event among `accounts` (as stored now).
async fn latest(repo: &LedgerAccounts, accounts: &[LedgerAccount]) -> FeedCheckpoint {
    let mut max = None;
    for a in accounts {
        let cp = repo.feed_checkpoint_of(a).await.unwrap().expect("stored");
        max = max.max(Some(cp));
    }
    max.expect("some accounts")
}

async fn reload(repo: &LedgerAccounts, accounts: &[LedgerAccount]) -> Vec<LedgerAccount> {
    let ids: Vec<_> = accounts.iter().map(|a| a.id).collect();
    let mut found: Vec<LedgerAccount> = repo.find_all(&ids).await.unwrap().into_values().collect();
    found.sort_by_key(|a| a.id);
    found
}

/// Waits for `target`, turning a runner that stopped into its error.
async fn reach(
    handle: ProjectionHandle<TrackError>,
    target: FeedCheckpoint,
) -> ProjectionHandle<TrackError> {
    match handle.wait_for(target, WAIT).await {
        Ok(()) => handle,
        Err(WaitError::Stopped { .. }) => panic!("runner stopped: {:?}", handle.join().await),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_writers_and_a_long_transaction_are_each_seen_once_in_order() {
    let pool = es_entity_tests::pool_with_size(24).await;
    let accounts = LedgerAccounts::new(&pool);
    let notes = LedgerNotes::new(&pool);
    let name = unique("proj-load");
    let hooks = Arc::new(Hooks::default());
    let handle = runner(&pool, ledger(&name, &hooks)).batch_size(200).spawn();
    active(&handle).await;
    // The same over the accounts table alone, where no merge of several
    // tables' batches stands between a read and the checkpoint.
    let alone_name = unique("proj-load-accounts");
    let alone = runner(
        &pool,
        AccountsOnly {
            name: alone_name.clone(),
        },
    )
    .batch_size(200)
    .spawn();
    active(&alone).await;

    // A transaction that takes an early transaction id and position, and
    // commits after every writer.
    let mut long = accounts.begin_op().await.unwrap();
    let early = accounts
        .create_in_op(&mut long, NewLedgerAccount::new("early", &[5]))
        .await
        .unwrap();

    let writers: Vec<_> = (0..16)
        .map(|w| {
            let accounts = accounts.clone();
            let notes = notes.clone();
            tokio::spawn(async move {
                let news = (0..8).map(|i| NewLedgerAccount::new(&format!("w{w}-{i}"), &[]));
                let mut mine = accounts.create_all(news.collect()).await.unwrap();
                let mut note = notes
                    .create(NewLedgerNote {
                        id: LedgerNoteId::new(),
                        account_id: mine[0].id,
                        text: "first".into(),
                    })
                    .await
                    .unwrap();
                for round in 0..50i64 {
                    for a in mine.iter_mut() {
                        a.deposit(round + 1);
                    }
                    if round % 2 == 0 {
                        for a in mine.iter_mut() {
                            accounts.update(a).await.unwrap();
                        }
                    } else {
                        accounts.update_all(&mut mine).await.unwrap();
                    }
                    if round % 10 == 0 {
                        note.edit(&format!("round {round}"));
                        notes.update(&mut note).await.unwrap();
                    }
                }
                (mine, note)
            })
        })
        .collect();
    let mut written = Vec::new();
    let mut note_ids = Vec::new();
    for w in writers {
        let (mine, note) = w.await.unwrap();
        written.extend(mine);
        note_ids.push(Uuid::from(note.id));
    }
    long.commit().await.unwrap();
    written.push(accounts.find_by_id(early.id).await.unwrap());

    let target = latest(&accounts, &written).await;
    let early_at = accounts
        .feed_checkpoint_of(&written[written.len() - 1])
        .await
        .unwrap()
        .unwrap();
    assert!(
        early_at < target,
        "the long transaction's event sorts early"
    );
    let handle = reach(handle, target).await;

    let model = read_model(&pool, &name).await;
    let expected = replayed(&reload(&accounts, &written).await);
    assert_eq!(expected.len(), 16 * 8 + 1);
    assert_eq!(only(&model, &expected), expected);
    // Each writer's note: written, then edited in 5 of the rounds.
    for id in &note_ids {
        assert_eq!(model.get(id), Some(&(6, 6, 0)), "note {id}");
    }
    let total: i64 = expected.values().map(|(_, events, _)| events).sum();
    assert_eq!(
        total,
        16 * 8 * 51 + 2,
        "every account event of this test, once"
    );
    handle.stop().await.unwrap();

    let alone = reach(alone, target).await;
    let model = read_model(&pool, &alone_name).await;
    assert_eq!(only(&model, &expected), expected, "accounts alone");
    alone.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_killed_mid_batch_resumes_without_loss_or_repeat() {
    let pool = es_entity_tests::pool().await;
    let accounts = LedgerAccounts::new(&pool);
    let name = unique("proj-kill");
    let hooks = Arc::new(Hooks {
        pause_at: Some(30),
        pause: Duration::from_secs(2),
        ..Hooks::default()
    });
    let handle = runner(&pool, ledger(&name, &hooks)).batch_size(50).spawn();
    active(&handle).await;

    let news = (0..5).map(|i| NewLedgerAccount::new(&format!("k{i}"), &[1; 19]));
    let created = accounts.create_all(news.collect()).await.unwrap();

    // The handler is inside the batch's transaction at its 30th event:
    // kill the runner's connections.
    tokio::time::timeout(WAIT, hooks.paused.notified())
        .await
        .expect("the handler reached event 30");
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(format!("es_entity projection {name}"))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(killed >= 1, "killed the runner's connection");

    let handle = reach(handle, latest(&accounts, &created).await).await;
    assert!(!handle.is_finished(), "a lost connection does not stop it");
    let expected = replayed(&created);
    let model = read_model(&pool, &name).await;
    assert_eq!(
        only(&model, &expected),
        expected,
        "nothing lost, nothing twice"
    );
    let calls: usize = {
        let calls = hooks.calls.lock().unwrap();
        expected
            .keys()
            .map(|id| calls.get(id).copied().unwrap_or(0))
            .sum()
    };
    assert!(
        calls > 100,
        "the killed batch's events were handled again after the restart ({calls} calls for 100 events)"
    );
    handle.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_with_one_name_take_turns_without_a_gap() {
    let pool = es_entity_tests::pool().await;
    let accounts = LedgerAccounts::new(&pool);
    let name = unique("proj-pair");
    let hooks = Arc::new(Hooks::default());
    let first = runner(&pool, ledger(&name, &hooks)).spawn();
    active(&first).await;
    let second = runner(&pool, ledger(&name, &hooks)).spawn();

    let news = (0..3).map(|i| NewLedgerAccount::new(&format!("p{i}"), &[2; 9]));
    let mut created = accounts.create_all(news.collect()).await.unwrap();
    let first = reach(first, latest(&accounts, &created).await).await;
    assert!(!second.is_active(), "only one runner works on a name");
    // The standby shows the active one's progress.
    second
        .wait_for(latest(&accounts, &created).await, WAIT)
        .await
        .unwrap();

    first.stop().await.unwrap();
    active(&second).await;
    for a in created.iter_mut() {
        a.deposit(7);
    }
    accounts.update_all(&mut created).await.unwrap();
    let second = reach(second, latest(&accounts, &created).await).await;

    let expected = replayed(&created);
    let model = read_model(&pool, &name).await;
    assert_eq!(only(&model, &expected), expected);
    assert_eq!(expected.values().map(|(_, n, _)| n).sum::<i64>(), 3 * 11);
    second.stop().await.unwrap();
}

// The probe entity: its own feed table, for the tests that need to know
// exactly who writes to it.

entity_id! { ProbeId }

#[derive(EsEvent, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "ProbeId")]
pub enum ProbeEvent {
    Pinged { n: i64 },
}

#[derive(EsEntity, Debug)]
pub struct Probe {
    pub id: ProbeId,
    events: EntityEvents<ProbeEvent>,
}

impl TryFromEvents<ProbeEvent> for Probe {
    fn try_from_events(events: EntityEvents<ProbeEvent>) -> Result<Self, EntityHydrationError> {
        Ok(Probe {
            id: *events.id(),
            events,
        })
    }
}

pub struct NewProbe(pub(crate) ProbeId, pub(crate) i64);

impl IntoEvents<ProbeEvent> for NewProbe {
    fn into_events(self) -> EntityEvents<ProbeEvent> {
        EntityEvents::init(self.0, [ProbeEvent::Pinged { n: self.1 }])
    }
}

#[derive(EsRepo, Debug, Clone)]
#[es_repo(
    entity = "Probe",
    tbl = "projection_probes",
    events_tbl = "projection_probe_events",
    feed
)]
pub struct Probes {
    pub(crate) pool: PgPool,
}

/// Follows probes into `projection_entities`.
struct ProbeCount {
    name: String,
    /// A probe with this `n` is refused for good.
    refuse: Option<i64>,
    /// How many more times the handler fails with a transient error.
    flaky: Arc<AtomicUsize>,
}

fn probe_count(name: &str) -> ProbeCount {
    ProbeCount {
        name: name.to_owned(),
        refuse: None,
        flaky: Arc::default(),
    }
}

impl Projection for ProbeCount {
    type Follows = Probes;
    type Item = FeedEvent<ProbeId, ProbeEvent>;
    type Error = TrackError;

    fn name(&self) -> &str {
        &self.name
    }

    async fn handle(
        &self,
        op: &mut impl AtomicOperation,
        item: &Self::Item,
    ) -> Result<(), TrackError> {
        let ProbeEvent::Pinged { n } = item.event;
        if self.refuse == Some(n) {
            return Err(TrackError::Refused(n));
        }
        if self
            .flaky
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok()
        {
            return Err(TrackError::Flaky);
        }
        track(op, &self.name, Uuid::from(item.entity_id), item.sequence, n).await
    }

    fn is_transient(&self, err: &TrackError) -> bool {
        matches!(err, TrackError::Flaky) || es_entity::projection::is_transient_error(err)
    }

    async fn reset(&self, op: &mut impl AtomicOperation) -> Result<(), TrackError> {
        sqlx::query("DELETE FROM projection_entities WHERE projection = $1")
            .bind(&self.name)
            .execute(op.as_executor())
            .await?;
        Ok(())
    }
}

async fn probe(probes: &Probes, n: i64) -> FeedCheckpoint {
    let p = probes.create(NewProbe(ProbeId::new(), n)).await.unwrap();
    probes.feed_checkpoint_of(&p).await.unwrap().unwrap()
}

/// A probe written with triggers off for its transaction: no notification.
async fn silent_probe(pool: &PgPool, probes: &Probes, n: i64) -> FeedCheckpoint {
    let mut op = DbOp::init(pool).await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(op.as_executor())
        .await
        .unwrap();
    let p = probes
        .create_in_op(&mut op, NewProbe(ProbeId::new(), n))
        .await
        .unwrap();
    op.commit().await.unwrap();
    probes.feed_checkpoint_of(&p).await.unwrap().unwrap()
}

/// The probe table has one writer at a time: these run in one test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_notify_poll_corrupt_rows_and_rebuild() {
    let pool = es_entity_tests::pool().await;
    let probes = Probes { pool: pool.clone() };
    // A corrupt row left by an interrupted earlier run would stop the rebuild.
    sqlx::query(
        "UPDATE projection_probe_events SET event_type = 'pinged', event = '{\"type\":\"pinged\",\"n\":0}'
         WHERE event_type <> 'pinged'",
    )
    .execute(&pool)
    .await
    .unwrap();

    // NOTIFY: polling once a minute, a write still arrives at once.
    let name = unique("proj-probe");
    let handle = runner(&pool, probe_count(&name))
        .poll_interval(Duration::from_secs(600))
        .spawn();
    active(&handle).await;
    handle
        .wait_for(probe(&probes, 1).await, WAIT)
        .await
        .unwrap();
    let started = Instant::now();
    // The runner is idle now; only a notification can wake it in time.
    handle
        .wait_for(probe(&probes, 2).await, Duration::from_secs(60))
        .await
        .unwrap();
    println!(
        "notified write reached the projection in {:?}",
        started.elapsed()
    );

    // A write that sends no notification does not wake it...
    let silent = silent_probe(&pool, &probes, 3).await;
    let err = handle
        .wait_for(silent, Duration::from_secs(3))
        .await
        .unwrap_err();
    assert!(matches!(err, WaitError::Timeout { .. }), "{err}");
    handle.stop().await.unwrap();

    // ...but polling finds it.
    let handle = runner(&pool, probe_count(&name))
        .poll_interval(Duration::from_millis(300))
        .spawn();
    active(&handle).await;
    let silent = silent_probe(&pool, &probes, 4).await;
    handle.wait_for(silent, WAIT).await.unwrap();
    let model = read_model(&pool, &name).await;
    let sum: i64 = model.values().map(|(_, _, n)| n).sum();
    assert_eq!((model.len(), sum), (4, 1 + 2 + 3 + 4));

    // A corrupt event: the runner stops with an error naming its position
    // and does not move past it.
    let before = probe(&probes, 5).await;
    handle.wait_for(before, WAIT).await.unwrap();
    // Stored corrupt by the transaction that writes it, so the runner can
    // only ever read it corrupt.
    let mut op = DbOp::init(&pool).await.unwrap();
    let bad = probes
        .create_in_op(&mut op, NewProbe(ProbeId::new(), 6))
        .await
        .unwrap();
    sqlx::query("UPDATE projection_probe_events SET event = '{\"type\":\"pinged\",\"n\":\"six\"}' WHERE id = $1")
        .bind(Uuid::from(bad.id))
        .execute(op.as_executor())
        .await
        .unwrap();
    op.commit().await.unwrap();
    let bad_at = probes.feed_checkpoint_of(&bad).await.unwrap().unwrap();
    let err = handle.join().await.unwrap_err();
    assert_eq!(err.position(), Some(bad_at.position), "{err}");
    assert!(
        matches!(&err, ProjectionError::Feed { after: Some(a), source: FeedReadError::Decode(d), .. }
            if *a == before && d.entity_id() == Some(bad.id.to_string().as_str()) && d.sequence() == Some(1)),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains(&format!("feed position {}", bad_at.position)),
        "{err}"
    );
    let stored = es_entity::projection::status(&pool, &name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.checkpoint,
        Some(before),
        "the checkpoint did not move"
    );

    // Repaired, a new runner applies it and goes on.
    sqlx::query(
        "UPDATE projection_probe_events SET event = '{\"type\":\"pinged\",\"n\":6}' WHERE id = $1",
    )
    .bind(Uuid::from(bad.id))
    .execute(&pool)
    .await
    .unwrap();
    let handle = runner(&pool, probe_count(&name)).spawn();
    handle.wait_for(bad_at, WAIT).await.unwrap();
    let sum: i64 = read_model(&pool, &name)
        .await
        .values()
        .map(|(_, _, n)| n)
        .sum();
    assert_eq!(sum, 21);

    // Rebuild: the read model is cleared and replayed from the start of the
    // feed, which holds this test's probes and every earlier run's.
    let count = probe_count(&name);
    es_entity::projection::rebuild(&pool, &count).await.unwrap();
    let after_rebuild = probe(&probes, 7).await;
    handle.wait_for(after_rebuild, WAIT).await.unwrap();
    let model = read_model(&pool, &name).await;
    let all: i64 = sqlx::query_scalar("SELECT count(*) FROM projection_probes")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(model.len() as i64, all, "every probe ever written");
    assert!(
        model
            .values()
            .all(|(seq, events, _)| *seq == 1 && *events == 1)
    );
    let status = es_entity::projection::status(&pool, &name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.events_processed, all);

    // A handler error the projection calls transient: retried, applied once.
    handle.stop().await.unwrap();
    let flaky = probe_count(&name);
    flaky.flaky.store(3, Ordering::SeqCst);
    let left = flaky.flaky.clone();
    let handle = runner(&pool, flaky).spawn();
    let eight = probes.create(NewProbe(ProbeId::new(), 8)).await.unwrap();
    let eight_at = probes.feed_checkpoint_of(&eight).await.unwrap().unwrap();
    handle.wait_for(eight_at, WAIT).await.unwrap();
    assert_eq!(left.load(Ordering::SeqCst), 0, "failed three times first");
    let model = read_model(&pool, &name).await;
    assert_eq!(
        model.get(&Uuid::from(eight.id)),
        Some(&(1, 1, 8)),
        "applied once"
    );
    handle.stop().await.unwrap();

    // Any other handler error stops the runner, naming projection, entity,
    // sequence and position; the checkpoint stays before the event.
    let mut refusing = probe_count(&name);
    refusing.refuse = Some(9);
    let handle = runner(&pool, refusing).spawn();
    let before = probe(&probes, 8).await;
    handle.wait_for(before, WAIT).await.unwrap();
    let refused = probes.create(NewProbe(ProbeId::new(), 9)).await.unwrap();
    let refused_at = probes.feed_checkpoint_of(&refused).await.unwrap().unwrap();
    let err = handle.join().await.unwrap_err();
    match &err {
        ProjectionError::Handler {
            projection,
            checkpoint,
            origin: Some(origin),
            source: TrackError::Refused(9),
        } => {
            assert_eq!(projection, &name);
            assert_eq!(*checkpoint, refused_at);
            assert_eq!(origin.entity_id, refused.id.to_string());
            assert_eq!(origin.sequence, 1);
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&name)
            && text.contains(&refused.id.to_string())
            && text.contains(&format!("position {}", refused_at.position)),
        "{text}"
    );
    let stored = es_entity::projection::status(&pool, &name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.checkpoint, Some(before));
    // A runner that accepts it goes on from there.
    let handle = runner(&pool, probe_count(&name)).spawn();
    handle.wait_for(refused_at, WAIT).await.unwrap();
    handle.stop().await.unwrap();
}
