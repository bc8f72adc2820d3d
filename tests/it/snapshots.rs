//! Snapshots (`#[es_repo(snapshot)]`, book: Snapshots): the `Ledger`
//! entity, whose repository stores a snapshot every few events, checked
//! against full replay.

use es_entity::prelude::*;
use es_entity::{EsSnapshot, HeadSnapshot, HydrationFailure};
use sqlx::PgPool;

// ANCHOR: entity
entity_id! { LedgerId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "LedgerId")]
pub enum LedgerEvent {
    Opened { name: String, owner: String },
    Deposited { amount: i64 },
    Withdrawn { amount: i64 },
    Renamed { name: String },
}

/// The state a snapshot stores: everything the entity's fields hold
/// besides the events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerState {
    pub name: String,
    pub owner: String,
    pub balance: i64,
    pub entries: u64,
}

impl EsSnapshot for LedgerState {
    // Bump when the fields or their meaning change: older snapshots are
    // then ignored and the ledgers replayed from their events.
    const VERSION: i32 = 1;
}

#[derive(EsEntity, Debug)]
pub struct Ledger {
    pub id: LedgerId,
    pub state: LedgerState,
    events: EntityEvents<LedgerEvent>,
}

impl Ledger {
    pub fn deposit(&mut self, amount: i64) {
        self.state.apply(&LedgerEvent::Deposited { amount });
        self.events.push(LedgerEvent::Deposited { amount });
    }

    pub fn withdraw(&mut self, amount: i64) {
        self.state.apply(&LedgerEvent::Withdrawn { amount });
        self.events.push(LedgerEvent::Withdrawn { amount });
    }

    pub fn rename(&mut self, name: impl Into<String>) {
        let event = LedgerEvent::Renamed { name: name.into() };
        self.state.apply(&event);
        self.events.push(event);
    }

    /// Replays `events` (what the history holds after `state`) onto `state`.
    fn replay(
        mut state: LedgerState,
        events: EntityEvents<LedgerEvent>,
    ) -> Result<Self, EntityHydrationError> {
        for event in events.iter_all() {
            state.apply(event);
        }
        Ok(Ledger {
            id: *events.id(),
            state,
            events,
        })
    }
}

impl LedgerState {
    fn apply(&mut self, event: &LedgerEvent) {
        match event {
            LedgerEvent::Opened { name, owner } => {
                self.name = name.clone();
                self.owner = owner.clone();
            }
            LedgerEvent::Deposited { amount } => self.balance += amount,
            LedgerEvent::Withdrawn { amount } => self.balance -= amount,
            LedgerEvent::Renamed { name } => self.name = name.clone(),
        }
        self.entries += 1;
    }
}

impl TryFromEvents<LedgerEvent> for Ledger {
    // The whole history: from the empty state.
    fn try_from_events(events: EntityEvents<LedgerEvent>) -> Result<Self, EntityHydrationError> {
        if !matches!(events.iter_all().next(), Some(LedgerEvent::Opened { .. })) {
            return Err(events.missing_field("name"));
        }
        let empty = LedgerState {
            name: String::new(),
            owner: String::new(),
            balance: 0,
            entries: 0,
        };
        Self::replay(empty, events)
    }
}

/// How many events a ledger may hold after its latest snapshot before a
/// write stores a new one.
pub const SNAPSHOT_EVERY: usize = 4;

impl HeadSnapshot for Ledger {
    type Snapshot = LedgerState;

    // The policy: a snapshot once `SNAPSHOT_EVERY` events have piled up
    // after the latest one (counting the new events of this write).
    fn capture(&self) -> Option<LedgerState> {
        (self.events.events_since_snapshot() >= SNAPSHOT_EVERY).then(|| self.state.clone())
    }

    // The snapshot, then the events stored after it.
    fn try_from_snapshot(
        snapshot: LedgerState,
        events: EntityEvents<LedgerEvent>,
    ) -> Result<Self, EntityHydrationError> {
        Self::replay(snapshot, events)
    }
}
// ANCHOR_END: entity

pub struct NewLedger {
    pub id: LedgerId,
    pub name: String,
    pub owner: String,
}

impl NewLedger {
    pub fn fresh(owner: &str) -> Self {
        let id = LedgerId::new();
        Self {
            id,
            name: format!("ledger-{id}"),
            owner: owner.to_owned(),
        }
    }
}

impl IntoEvents<LedgerEvent> for NewLedger {
    fn into_events(self) -> EntityEvents<LedgerEvent> {
        EntityEvents::init(
            self.id,
            [LedgerEvent::Opened {
                name: self.name,
                owner: self.owner,
            }],
        )
    }
}

// ANCHOR: repo
#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Ledger",
    snapshot,
    columns(
        name(ty = "String", list_by, update(accessor = "state.name")),
        owner(ty = "String", list_for, update(accessor = "state.owner")),
    )
)]
pub struct Ledgers {
    pool: PgPool,
}
// ANCHOR_END: repo

impl Ledgers {
    pub fn new(pool: &PgPool) -> Self {
        Self { pool: pool.clone() }
    }
}

// ANCHOR: es_query
impl Ledgers {
    /// The ledgers of `owner` whose name starts with `prefix`, by name.
    pub async fn of_owner_named(
        &self,
        owner: &str,
        prefix: &str,
        first: usize,
    ) -> Result<(Vec<Ledger>, bool), LedgerQueryError> {
        es_query!(
            snapshot,
            "SELECT id FROM ledgers WHERE owner = $1 AND name LIKE $2 || '%' ORDER BY name, id LIMIT $3",
            owner,
            prefix,
            (first + 1) as i64,
        )
        .fetch_n(&self.pool, first)
        .await
    }
}
// ANCHOR_END: es_query

// ---------------------------------------------------------------------------
// The same tables read with another snapshot version (a deploy that changed
// the snapshot type): no columns, so `update` takes the lock-only path.

/// `LedgerState` as a new release stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerStateNext(pub LedgerState);

impl EsSnapshot for LedgerStateNext {
    const VERSION: i32 = 2;
}

#[derive(EsEntity, Debug)]
#[es_entity(new = "NewLedger", event = "LedgerEvent")]
pub struct LedgerNext {
    pub id: LedgerId,
    pub state: LedgerState,
    events: EntityEvents<LedgerEvent>,
}

impl TryFromEvents<LedgerEvent> for LedgerNext {
    fn try_from_events(events: EntityEvents<LedgerEvent>) -> Result<Self, EntityHydrationError> {
        let Ledger { id, state, events } = Ledger::try_from_events(events)?;
        Ok(LedgerNext { id, state, events })
    }
}

impl HeadSnapshot for LedgerNext {
    type Snapshot = LedgerStateNext;

    fn capture(&self) -> Option<LedgerStateNext> {
        (self.events.events_since_snapshot() >= SNAPSHOT_EVERY)
            .then(|| LedgerStateNext(self.state.clone()))
    }

    fn try_from_snapshot(
        snapshot: LedgerStateNext,
        events: EntityEvents<LedgerEvent>,
    ) -> Result<Self, EntityHydrationError> {
        let Ledger { id, state, events } = Ledger::replay(snapshot.0, events)?;
        Ok(LedgerNext { id, state, events })
    }
}

impl LedgerNext {
    pub fn deposit(&mut self, amount: i64) {
        self.state.apply(&LedgerEvent::Deposited { amount });
        self.events.push(LedgerEvent::Deposited { amount });
    }
}

#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "LedgerNext",
    id = "LedgerId",
    event = "LedgerEvent",
    tbl = "ledgers",
    events_tbl = "ledger_events",
    snapshot,
    snapshot_tbl = "ledger_snapshots"
)]
pub struct LedgersNext {
    pool: PgPool,
}

// ---------------------------------------------------------------------------
// Tests

use proptest::prelude::*;

async fn ledgers() -> Ledgers {
    Ledgers::new(&es_entity_tests::pool().await)
}

/// The stored snapshot row of `id`: `(sequence, version)`.
async fn snapshot_row(pool: &PgPool, id: LedgerId) -> Option<(i32, i32)> {
    sqlx::query_as("SELECT sequence, version FROM ledger_snapshots WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .unwrap()
}

async fn drop_snapshot(pool: &PgPool, id: LedgerId) {
    sqlx::query("DELETE FROM ledger_snapshots WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .unwrap();
}

/// What a read must give whatever snapshot it started from.
#[track_caller]
fn assert_same(loaded: &Ledger, expected: &Ledger) {
    assert_eq!(loaded.id, expected.id);
    assert_eq!(loaded.state, expected.state);
    let (l, e) = (loaded.events(), expected.events());
    assert_eq!(l.len_persisted(), e.len_persisted());
    assert_eq!(l.entity_first_persisted_at(), e.entity_first_persisted_at());
    assert_eq!(l.entity_last_modified_at(), e.entity_last_modified_at());
    assert!(!l.any_new());
}

#[tokio::test]
async fn a_snapshot_is_stored_when_due_and_every_read_starts_from_it() {
    let repo = ledgers().await;
    let pool = &repo.pool;
    let owner = LedgerId::new().to_string();
    let mut ledger = repo.create(NewLedger::fresh(&owner)).await.unwrap();
    assert_eq!(
        snapshot_row(pool, ledger.id).await,
        None,
        "create stores none"
    );

    ledger.deposit(10);
    repo.update(&mut ledger).await.unwrap();
    assert_eq!(
        snapshot_row(pool, ledger.id).await,
        None,
        "2 events: not due"
    );
    assert_eq!(ledger.events().events_since_snapshot(), 2);

    ledger.deposit(5);
    ledger.withdraw(3);
    repo.update(&mut ledger).await.unwrap();
    assert_eq!(snapshot_row(pool, ledger.id).await, Some((4, 1)));
    assert_eq!(ledger.events().events_since_snapshot(), 0);

    let loaded = repo.find_by_id(ledger.id).await.unwrap();
    assert_eq!(loaded.events().loaded_from_snapshot(), Some(4));
    assert_eq!(loaded.events().iter_persisted().count(), 0, "no tail");
    assert_same(&loaded, &ledger);

    ledger.rename("renamed");
    repo.update(&mut ledger).await.unwrap();
    assert_eq!(
        snapshot_row(pool, ledger.id).await,
        Some((4, 1)),
        "1 event after it"
    );

    // Every read: the snapshot at 4, then event 5.
    let by_id = repo.find_by_id(ledger.id).await.unwrap();
    assert_eq!(by_id.events().loaded_from_snapshot(), Some(4));
    assert_eq!(by_id.events().iter_persisted().count(), 1);
    assert_same(&by_id, &ledger);
    let all = repo.find_all::<Ledger>(&[ledger.id]).await.unwrap();
    assert_same(&all[&ledger.id], &ledger);
    assert_eq!(all[&ledger.id].events().loaded_from_snapshot(), Some(4));
    let page = repo
        .list_for_owner_by_created_at(
            owner.clone(),
            PaginatedQueryArgs::first(10),
            ListDirection::Ascending,
        )
        .await
        .unwrap();
    assert_eq!(page.entities.len(), 1);
    assert_same(&page.entities[0], &ledger);
    assert_eq!(page.entities[0].events().loaded_from_snapshot(), Some(4));
    let (named, more) = repo.of_owner_named(&owner, "renamed", 10).await.unwrap();
    assert!(!more);
    assert_same(&named[0], &ledger);
    assert_eq!(named[0].events().loaded_from_snapshot(), Some(4));

    // The events are the truth: without the snapshot, the same ledger.
    drop_snapshot(pool, ledger.id).await;
    let replayed = repo.find_by_id(ledger.id).await.unwrap();
    assert_eq!(replayed.events().loaded_from_snapshot(), None);
    assert_same(&replayed, &ledger);

    // A ledger loaded from its snapshot writes on after it.
    let mut from_snapshot = by_id;
    for amount in 1..=4 {
        from_snapshot.deposit(amount);
    }
    repo.update(&mut from_snapshot).await.unwrap();
    assert_eq!(snapshot_row(pool, ledger.id).await, Some((9, 1)));
    let reloaded = repo.find_by_id(ledger.id).await.unwrap();
    assert_eq!(reloaded.state.balance, 12 + 10);
    assert_same(&reloaded, &from_snapshot);
}

#[tokio::test]
async fn update_all_stores_the_snapshots_that_are_due() {
    let repo = ledgers().await;
    let pool = &repo.pool;
    let owner = LedgerId::new().to_string();
    let mut batch = repo
        .create_all(vec![
            NewLedger::fresh(&owner),
            NewLedger::fresh(&owner),
            NewLedger::fresh(&owner),
        ])
        .await
        .unwrap();
    batch[0].deposit(1);
    batch[0].deposit(2);
    batch[0].deposit(3); // 4 events: due
    batch[2].deposit(7); // 2: not due; batch[1] has nothing new
    repo.update_all(&mut batch).await.unwrap();
    assert_eq!(snapshot_row(pool, batch[0].id).await, Some((4, 1)));
    assert_eq!(snapshot_row(pool, batch[1].id).await, None);
    assert_eq!(snapshot_row(pool, batch[2].id).await, None);
    assert_eq!(batch[0].events().events_since_snapshot(), 0);
    assert_eq!(batch[2].events().events_since_snapshot(), 2);

    let ids: Vec<_> = batch.iter().map(|l| l.id).collect();
    let loaded = repo.find_all::<Ledger>(&ids).await.unwrap();
    for ledger in &batch {
        assert_same(&loaded[&ledger.id], ledger);
    }
    assert_eq!(
        loaded[&batch[0].id].events().loaded_from_snapshot(),
        Some(4)
    );
    assert_eq!(loaded[&batch[2].id].events().loaded_from_snapshot(), None);
}

#[tokio::test]
async fn an_older_snapshot_never_replaces_a_newer_one() {
    let repo = ledgers().await;
    let pool = &repo.pool;
    let mut ledger = repo.create(NewLedger::fresh("older")).await.unwrap();
    for amount in 0..3 {
        ledger.deposit(amount);
    }
    repo.update(&mut ledger).await.unwrap();
    assert_eq!(snapshot_row(pool, ledger.id).await, Some((4, 1)));
    // A row claiming a later sequence than the write's (as if written
    // ahead): the write's own snapshot (at 8) must not replace it.
    sqlx::query("UPDATE ledger_snapshots SET sequence = 100 WHERE id = $1")
        .bind(ledger.id)
        .execute(pool)
        .await
        .unwrap();
    for amount in 0..4 {
        ledger.deposit(amount);
    }
    repo.update(&mut ledger).await.unwrap();
    assert_eq!(snapshot_row(pool, ledger.id).await, Some((100, 1)));
}

/// Two writers of one ledger on two connections: the one holding the
/// row's lock wins, the other loses its race; a snapshot lands only with
/// the write that captured it, and reads stay equal to full replay.
#[tokio::test]
async fn two_writers_one_snapshotting() {
    let repo = ledgers().await;
    let pool = repo.pool.clone();
    for snapshotter_first in [true, false] {
        let mut ledger = repo.create(NewLedger::fresh("race")).await.unwrap();
        ledger.deposit(1);
        repo.update(&mut ledger).await.unwrap(); // 2 events
        let mut snapshotting = repo.find_by_id(ledger.id).await.unwrap();
        snapshotting.deposit(10);
        snapshotting.deposit(20); // 4 events: due
        let mut plain = repo.find_by_id(ledger.id).await.unwrap();
        plain.deposit(100); // 3: not due

        let (mut first, mut second) = if snapshotter_first {
            (snapshotting, plain)
        } else {
            (plain, snapshotting)
        };
        // The first writer holds the row lock in an open transaction while
        // the second writes on another connection and waits for it.
        let mut op = repo.begin_op().await.unwrap();
        repo.update_in_op(&mut op, &mut first).await.unwrap();
        let racer = {
            let repo = Ledgers::new(&pool);
            tokio::spawn(async move {
                let result = repo.update(&mut second).await;
                (result.map_err(|e| e.is_concurrent_modification()), second)
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!racer.is_finished(), "the second writer waits for the lock");
        op.commit().await.unwrap();
        let (result, _) = racer.await.unwrap();
        assert_eq!(result, Err(true), "the second writer loses its race");

        let expected = if snapshotter_first {
            Some((4, 1))
        } else {
            None
        };
        assert_eq!(snapshot_row(&pool, ledger.id).await, expected);
        let loaded = repo.find_by_id(ledger.id).await.unwrap();
        assert_same(&loaded, &first);
        drop_snapshot(&pool, ledger.id).await;
        assert_same(&repo.find_by_id(ledger.id).await.unwrap(), &first);
    }
}

#[tokio::test]
async fn a_snapshot_of_another_version_is_ignored_and_the_next_write_replaces_it() {
    let repo = ledgers().await;
    let pool = &repo.pool;
    let next = LedgersNext { pool: pool.clone() };
    let mut ledger = repo.create(NewLedger::fresh("versions")).await.unwrap();
    for amount in 1..=3 {
        ledger.deposit(amount);
    }
    repo.update(&mut ledger).await.unwrap();
    assert_eq!(snapshot_row(pool, ledger.id).await, Some((4, 1)));

    // Version 2 ignores the version-1 snapshot: full replay.
    let mut upgraded = next.find_by_id(ledger.id).await.unwrap();
    assert_eq!(upgraded.events().loaded_from_snapshot(), None);
    assert_eq!(upgraded.state, ledger.state);
    assert_eq!(upgraded.events().events_since_snapshot(), 4);
    // Its next write is due at once and replaces the row.
    upgraded.deposit(4);
    next.update(&mut upgraded).await.unwrap();
    assert_eq!(snapshot_row(pool, ledger.id).await, Some((5, 2)));
    let again = next.find_by_id(ledger.id).await.unwrap();
    assert_eq!(again.events().loaded_from_snapshot(), Some(5));
    assert_eq!(again.state, upgraded.state);

    // Version 1 now ignores version 2's snapshot.
    let old = repo.find_by_id(ledger.id).await.unwrap();
    assert_eq!(old.events().loaded_from_snapshot(), None);
    assert_eq!(old.state, upgraded.state);
    assert_eq!(old.events().len_persisted(), 5);
    assert_eq!(again.id, ledger.id);
}

#[tokio::test]
async fn a_snapshot_that_does_not_decode_is_a_typed_error_until_it_is_deleted() {
    let repo = ledgers().await;
    let pool = &repo.pool;
    let mut ledger = repo.create(NewLedger::fresh("corrupt")).await.unwrap();
    for amount in 1..=3 {
        ledger.deposit(amount);
    }
    repo.update(&mut ledger).await.unwrap();
    sqlx::query(r#"UPDATE ledger_snapshots SET snapshot = '{"balance": "lots"}' WHERE id = $1"#)
        .bind(ledger.id)
        .execute(pool)
        .await
        .unwrap();
    let err = repo.find_by_id(ledger.id).await.unwrap_err();
    let FindError::HydrationError(err) = err else {
        panic!("expected a hydration error, got {err:?}");
    };
    assert!(
        matches!(err.failure(), HydrationFailure::BadSnapshot(_)),
        "{err:?}"
    );
    let id = ledger.id.to_string();
    assert_eq!(err.entity_id(), Some(id.as_str()));
    assert!(matches!(
        repo.find_all::<Ledger>(&[ledger.id]).await,
        Err(QueryError::HydrationError(_))
    ));

    drop_snapshot(pool, ledger.id).await;
    assert_same(&repo.find_by_id(ledger.id).await.unwrap(), &ledger);
}

// ---------------------------------------------------------------------------
// Random histories: a snapshot read equals full replay.

#[derive(Debug, Clone)]
enum Op {
    Deposit(i64),
    Withdraw(i64),
    Rename(u8),
}

#[derive(Debug, Clone)]
enum Step {
    /// New events for each ledger, written with `update` each or one `update_all`.
    Write(Vec<Op>, Vec<Op>, bool),
    /// Load both ledgers again (from their snapshots, if any).
    Reload,
    /// Delete both ledgers' snapshots.
    DropSnapshots,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (-1_000i64..1_000).prop_map(Op::Deposit),
        (-1_000i64..1_000).prop_map(Op::Withdraw),
        any::<u8>().prop_map(Op::Rename),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let ops = || prop::collection::vec(op(), 0..7);
    prop_oneof![
        4 => (ops(), ops(), any::<bool>()).prop_map(|(a, b, all)| Step::Write(a, b, all)),
        2 => Just(Step::Reload),
        1 => Just(Step::DropSnapshots),
    ]
}

fn apply(ledger: &mut Ledger, ops: &[Op]) {
    for op in ops {
        match op {
            Op::Deposit(n) => ledger.deposit(*n),
            Op::Withdraw(n) => ledger.withdraw(*n),
            Op::Rename(n) => ledger.rename(format!("n{n}")),
        }
    }
}

async fn history(steps: Vec<Step>) {
    let repo = ledgers().await;
    let pool = &repo.pool;
    let owner = LedgerId::new().to_string();
    let mut ledgers = repo
        .create_all(vec![NewLedger::fresh(&owner), NewLedger::fresh(&owner)])
        .await
        .unwrap();
    let ids = [ledgers[0].id, ledgers[1].id];
    for step in steps {
        match step {
            Step::Write(a, b, all) => {
                apply(&mut ledgers[0], &a);
                apply(&mut ledgers[1], &b);
                if all {
                    repo.update_all(&mut ledgers).await.unwrap();
                } else {
                    for ledger in &mut ledgers {
                        repo.update(ledger).await.unwrap();
                    }
                }
            }
            Step::Reload => {
                for ledger in &mut ledgers {
                    let loaded = repo.find_by_id(ledger.id).await.unwrap();
                    assert_same(&loaded, ledger);
                    *ledger = loaded;
                }
            }
            Step::DropSnapshots => {
                for id in ids {
                    drop_snapshot(pool, id).await;
                }
            }
        }
        for ledger in &ledgers {
            // A stored snapshot never runs ahead of the events, and one
            // is stored whenever the policy made a write capture it.
            if let Some((sequence, version)) = snapshot_row(pool, ledger.id).await {
                assert_eq!(version, 1);
                assert!(sequence as usize <= ledger.events().len_persisted());
            }
        }
    }
    // Every read, with the snapshots, then without: the same ledgers.
    let all = repo.find_all::<Ledger>(&ids).await.unwrap();
    let page = repo
        .list_for_owner_by_created_at(
            owner.clone(),
            PaginatedQueryArgs::first(10),
            ListDirection::Ascending,
        )
        .await
        .unwrap();
    let (queried, _) = repo.of_owner_named(&owner, "", 10).await.unwrap();
    assert_eq!(page.entities.len(), 2);
    assert_eq!(queried.len(), 2);
    for ledger in &ledgers {
        assert_same(&repo.find_by_id(ledger.id).await.unwrap(), ledger);
        assert_same(&all[&ledger.id], ledger);
        let listed = page.entities.iter().find(|l| l.id == ledger.id).unwrap();
        assert_same(listed, ledger);
        let found = queried.iter().find(|l| l.id == ledger.id).unwrap();
        assert_same(found, ledger);
        drop_snapshot(pool, ledger.id).await;
        let replayed = repo.find_by_id(ledger.id).await.unwrap();
        assert_eq!(replayed.events().loaded_from_snapshot(), None);
        assert_same(&replayed, ledger);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn snapshot_reads_equal_full_replay(steps in prop::collection::vec(step(), 1..12)) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(history(steps));
    }
}
