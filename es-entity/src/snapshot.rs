//! Snapshots: an entity's state stored next to its events, so a read
//! replays only the events after it. The entity says when ([`HeadSnapshot::capture`],
//! its policy) and how ([`EsSnapshot`], a serializable state with a
//! version); a repository with `#[es_repo(snapshot)]` writes it inside the
//! statement of `update` / `update_all` and reads it inside the statement
//! that reads the events. The events stay the source of truth: a snapshot
//! whose version is not [`EsSnapshot::VERSION`] is ignored (the entity is
//! replayed from its first event), and deleting snapshots changes no result.

use chrono::{DateTime, Utc};
use serde::{Serialize, de::DeserializeOwned};

use crate::error::{EntityHydrationError, HydrationFailure};
use crate::event_json::{EventJson, EventPayload, ParsedEvent};
use crate::events::{EntityEvents, EsEvent, GenericEvent};
use crate::traits::EsEntity;
use crate::write::EventText;

/// The stored state of an entity: what [`HeadSnapshot::capture`] returns and
/// [`HeadSnapshot::try_from_snapshot`] starts from.
///
/// Bump `VERSION` whenever the serialized form or its meaning changes: the
/// stored snapshots of other versions are then ignored by reads (full
/// replay) until the entity's next write that captures one.
///
/// ```
/// use es_entity::EsSnapshot;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct CounterState {
///     total: i64,
/// }
///
/// impl EsSnapshot for CounterState {
///     const VERSION: i32 = 1;
/// }
/// assert_eq!(CounterState::VERSION, 1);
/// ```
pub trait EsSnapshot: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The version of the serialized form, stored with each snapshot.
    const VERSION: i32;
}

/// An entity whose repository stores snapshots (`#[es_repo(snapshot)]`).
///
/// `capture` is the policy: `update` and `update_all` call it for each
/// entity they write, after its new events were applied to it, and store
/// what it returns (covering every event up to the new ones) in the same
/// statement. `try_from_snapshot` rebuilds the entity from a stored snapshot
/// and the events after it; `TryFromEvents::try_from_events` still rebuilds
/// it from its whole history when there is no usable snapshot.
///
/// ```ignore
/// impl HeadSnapshot for Counter {
///     type Snapshot = CounterState;
///     fn capture(&self) -> Option<CounterState> {
///         (self.events.events_since_snapshot() >= 100).then(|| CounterState { total: self.total })
///     }
///     fn try_from_snapshot(s: CounterState, events: EntityEvents<CounterEvent>) -> Result<Self, EntityHydrationError> {
///         Self::replay(s.total, events)
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is read and written by a repository with `#[es_repo(snapshot)]`, but does not implement `es_entity::HeadSnapshot`",
    note = "implement `es_entity::HeadSnapshot for {Self}` (`type Snapshot`, `capture`, `try_from_snapshot`), or remove `snapshot` from `#[es_repo(...)]`"
)]
pub trait HeadSnapshot: EsEntity {
    /// The stored state.
    type Snapshot: EsSnapshot;

    /// The state to store with this write, or `None` when no snapshot is due.
    /// The state must include every event of the entity, new ones too.
    fn capture(&self) -> Option<Self::Snapshot>;

    /// The entity from `snapshot` and the events stored after it (what
    /// `events.iter_all()` yields; `events.len_persisted()` counts all).
    fn try_from_snapshot(
        snapshot: Self::Snapshot,
        events: EntityEvents<Self::Event>,
    ) -> Result<Self, EntityHydrationError>;
}

/// Where an [`EntityEvents`] stands with snapshots.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SnapshotMark {
    /// The sequence of the snapshot the history was loaded from (its
    /// persisted events are the ones after it), 0 for a full history.
    pub base: usize,
    /// When the first event was stored, kept by the snapshot.
    pub first_recorded_at: Option<DateTime<Utc>>,
    /// When the snapshot's last event was stored.
    pub recorded_at: Option<DateTime<Utc>>,
    /// The sequence of the latest snapshot known stored, 0 for none.
    pub latest: usize,
}

impl<E: EsEvent> EntityEvents<E> {
    /// How many events (stored and new) come after the latest snapshot this
    /// history was loaded from or written with; all of them when there is
    /// none. The usual policy in [`HeadSnapshot::capture`]:
    /// `events_since_snapshot() >= 100`.
    pub fn events_since_snapshot(&self) -> usize {
        (self.len_persisted() + self.len_new()).saturating_sub(self.snapshot.latest)
    }

    /// The sequence of the snapshot this history was loaded from, `None`
    /// when it holds every event.
    pub fn loaded_from_snapshot(&self) -> Option<usize> {
        (self.snapshot.base > 0).then_some(self.snapshot.base)
    }
}

/// One row of a snapshot repository's read: an event row, and on the first
/// row of each entity its snapshot when one of the current version exists.
#[derive(Debug)]
pub struct SnapshotRow<Id, P> {
    /// The entity the row belongs to.
    pub entity_id: Id,
    /// The `sequence` column, 0 when the entity has no event after its snapshot.
    pub sequence: i32,
    /// The `event_type` column.
    pub event_type: String,
    /// The `event` column.
    pub event: P,
    /// The `context` column.
    pub context: Option<serde_json::Value>,
    /// The `recorded_at` column.
    pub recorded_at: DateTime<Utc>,
    /// The sequence the snapshot covers.
    pub snapshot_sequence: Option<i32>,
    /// The snapshot, on the entity's first row only.
    pub snapshot: Option<EventJson>,
    /// When the entity's first event was stored.
    pub snapshot_first_at: Option<DateTime<Utc>>,
    /// When the snapshot's last event was stored.
    pub snapshot_at: Option<DateTime<Utc>>,
}

/// Rows a generated read hydrates entities of type `T` from.
pub trait LoadRows<T>: Sized {
    /// Hydrates up to `n` entities from rows grouped by entity; the flag
    /// says whether rows of more entities followed.
    fn load_n(rows: Vec<Self>, n: usize) -> Result<(Vec<T>, bool), EntityHydrationError>;
}

// For the `ParsedEvent` rows reads decode only: with one impl per row
// type, the rows of a `query_as!` infer their payload type from it.
impl<T> LoadRows<T> for GenericEvent<<T::Event as EsEvent>::EntityId, ParsedEvent<T::Event>>
where
    T: EsEntity,
{
    fn load_n(rows: Vec<Self>, n: usize) -> Result<(Vec<T>, bool), EntityHydrationError> {
        EntityEvents::<T::Event>::load_n::<T>(rows, n)
    }
}

impl<T> LoadRows<T> for SnapshotRow<<T::Event as EsEvent>::EntityId, ParsedEvent<T::Event>>
where
    T: HeadSnapshot,
{
    fn load_n(rows: Vec<Self>, n: usize) -> Result<(Vec<T>, bool), EntityHydrationError> {
        load_snapshots(rows, n)
    }
}

/// The entity of one run of rows: from its snapshot when the first row
/// carries one, else from the whole history.
fn load_snapshots<T, P>(
    rows: Vec<SnapshotRow<<T::Event as EsEvent>::EntityId, P>>,
    n: usize,
) -> Result<(Vec<T>, bool), EntityHydrationError>
where
    T: HeadSnapshot,
    P: EventPayload<T::Event>,
{
    let mut out = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while let Some(first) = rows.next() {
        if out.len() == n {
            return Ok((out, true));
        }
        let id = first.entity_id.clone();
        let mut tail = Vec::new();
        let snapshot = start::<T, P>(first, &mut tail)?;
        while let Some(row) = rows.next_if(|r| r.entity_id == id) {
            tail.push(event_row(row));
        }
        let entity = match snapshot {
            None => EntityEvents::load_first::<T>(tail)?,
            Some((state, mark)) => {
                let mut events = EntityEvents::with_capacity(id, tail.len());
                events.snapshot = mark;
                if tail.first().is_some_and(|r| r.sequence != 0) {
                    events.push_missed(tail)?;
                }
                T::try_from_snapshot(state, events)?
            }
        };
        out.push(entity);
    }
    Ok((out, false))
}

/// The snapshot of an entity's first row, decoded, and that row as an
/// event row unless it only carries the snapshot.
#[allow(clippy::type_complexity)]
fn start<T, P>(
    first: SnapshotRow<<T::Event as EsEvent>::EntityId, P>,
    tail: &mut Vec<GenericEvent<<T::Event as EsEvent>::EntityId, P>>,
) -> Result<Option<(T::Snapshot, SnapshotMark)>, EntityHydrationError>
where
    T: HeadSnapshot,
{
    let snapshot = match (&first.snapshot, first.snapshot_sequence) {
        (Some(json), Some(sequence)) => {
            let fail = |failure| {
                EntityHydrationError::new(
                    Some(first.entity_id.to_string()),
                    Some(i64::from(sequence)),
                    failure,
                )
            };
            let base = usize::try_from(sequence)
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| fail(HydrationFailure::BadSequence(i64::from(sequence))))?;
            let state: T::Snapshot = serde_json::from_slice(json.as_bytes())
                .map_err(|e| fail(HydrationFailure::BadSnapshot(e)))?;
            Some((
                state,
                SnapshotMark {
                    base,
                    first_recorded_at: first.snapshot_first_at,
                    recorded_at: first.snapshot_at,
                    latest: base,
                },
            ))
        }
        _ => None,
    };
    // Without a snapshot the row is the history's first event (sequence 0
    // when the index row has no events: hydration reports that).
    tail.push(event_row(first));
    Ok(snapshot)
}

fn event_row<Id, P>(row: SnapshotRow<Id, P>) -> GenericEvent<Id, P> {
    GenericEvent {
        entity_id: row.entity_id,
        sequence: row.sequence,
        event_type: row.event_type,
        event: row.event,
        context: row.context,
        recorded_at: row.recorded_at,
    }
}

/// The snapshot parameters of one entity's `update`: all `None` when
/// `capture` returned nothing or the entity has no new event.
pub struct SnapshotWrite {
    /// The sequence the snapshot covers: the entity's version after the write.
    pub sequence: Option<i32>,
    /// The snapshot, serialized.
    pub snapshot: Option<EventText>,
    /// When the entity's first event was stored.
    pub first_at: Option<DateTime<Utc>>,
}

/// [`EsSnapshot::VERSION`] of an entity's snapshot type: the version a read
/// accepts and a write stores.
pub fn version<T: HeadSnapshot>() -> i32 {
    <T::Snapshot as EsSnapshot>::VERSION
}

/// Captures `entity`'s snapshot for its write (see [`SnapshotWrite`]). The
/// snapshot is serialized and parsed back, so one that would not read back
/// fails the write before anything is stored.
pub fn capture<T: HeadSnapshot>(entity: &T) -> Result<SnapshotWrite, EntityHydrationError> {
    let events = entity.events();
    let none = SnapshotWrite {
        sequence: None,
        snapshot: None,
        first_at: None,
    };
    if !events.any_new() {
        return Ok(none);
    }
    let Some(state) = entity.capture() else {
        return Ok(none);
    };
    let head = events.len_persisted() + events.len_new();
    let fail = |e| {
        EntityHydrationError::new(
            Some(events.id().to_string()),
            i64::try_from(head).ok(),
            HydrationFailure::BadSnapshot(e),
        )
    };
    let text = serde_json::value::to_raw_value(&state).map_err(fail)?;
    serde_json::from_str::<T::Snapshot>(text.get()).map_err(fail)?;
    Ok(SnapshotWrite {
        sequence: Some(crate::write::version_i32(head)),
        snapshot: Some(sqlx::types::Json(text)),
        first_at: events.entity_first_persisted_at(),
    })
}

/// The snapshot parameters of an `update_all`: parallel arrays, one entry
/// per captured snapshot, naming its entity by 1-based position among the
/// entities written (as [`BulkEvents`](crate::__private::BulkEvents) does).
#[derive(Default)]
pub struct BulkSnapshots {
    /// Position (1-based) of each snapshot's entity in the batch.
    pub entities: Vec<i32>,
    /// The sequence each snapshot covers.
    pub sequences: Vec<i32>,
    /// The snapshots, serialized.
    pub snapshots: Vec<EventText>,
    /// When each entity's first event was stored.
    pub first_at: Vec<Option<DateTime<Utc>>>,
}

impl BulkSnapshots {
    /// Captures the snapshot of the `position`-th (1-based) entity written.
    pub fn push<T: HeadSnapshot>(
        &mut self,
        position: usize,
        entity: &T,
    ) -> Result<(), EntityHydrationError> {
        let write = capture(entity)?;
        if let (Some(sequence), Some(snapshot)) = (write.sequence, write.snapshot) {
            self.entities.push(crate::write::version_i32(position));
            self.sequences.push(sequence);
            self.snapshots.push(snapshot);
            self.first_at.push(write.first_at);
        }
        Ok(())
    }
}

impl BulkSnapshots {
    /// After the write: the snapshot stored for the `position`-th entity,
    /// if any, is that entity's latest.
    pub fn written<E: EsEvent>(&self, position: usize, events: &mut EntityEvents<E>) {
        let position = crate::write::version_i32(position);
        if let Ok(i) = self.entities.binary_search(&position) {
            written(events, Some(self.sequences[i]));
        }
    }
}

/// After a write that stored a snapshot at `sequence`: it is the latest.
pub fn written<E: EsEvent>(events: &mut EntityEvents<E>, sequence: Option<i32>) {
    if let Some(s) = sequence.and_then(|s| usize::try_from(s).ok()) {
        events.snapshot.latest = s;
    }
}

/// The compile-time check that an entity implementing [`HeadSnapshot`] is
/// stored by a repository with `#[es_repo(snapshot)]`: a repository without
/// it calls [`agree`](probe::agree) on `(&Probe::<Entity>::NEW).kind()`,
/// which (autoref specialization) is [`probe::EntityTakesSnapshots`] for a
/// `HeadSnapshot` entity, and that is rejected with a message saying what
/// to add.
pub mod probe {
    use std::marker::PhantomData;

    /// Stands for the entity type `T` in the method lookup.
    pub struct Probe<T>(PhantomData<T>);

    impl<T> Probe<T> {
        /// The probe.
        pub const NEW: Self = Probe(PhantomData);
    }

    /// The entity implements `HeadSnapshot`.
    pub struct EntityTakesSnapshots;
    /// The entity does not.
    pub struct NoSnapshots;

    /// Chosen first, when `T: HeadSnapshot`.
    pub trait ViaSnapshots {
        /// What the entity is.
        fn kind(&self) -> EntityTakesSnapshots {
            EntityTakesSnapshots
        }
    }
    impl<T: super::HeadSnapshot> ViaSnapshots for Probe<T> {}

    /// Chosen otherwise.
    pub trait ViaPlain {
        /// What the entity is.
        fn kind(&self) -> NoSnapshots {
            NoSnapshots
        }
    }
    impl<T> ViaPlain for &Probe<T> {}

    /// Holds for an entity a repository without snapshots may store.
    #[diagnostic::on_unimplemented(
        message = "the entity implements `es_entity::HeadSnapshot`, but its repository stores no snapshots",
        label = "the entity's snapshots would never be stored or read",
        note = "add `snapshot` to the repository's `#[es_repo(...)]` (and the snapshot table to the migrations), or remove the `HeadSnapshot` impl"
    )]
    pub trait StoredWithoutSnapshots {}
    impl StoredWithoutSnapshots for NoSnapshots {}

    /// Compiles only for [`NoSnapshots`].
    pub fn agree<K: StoredWithoutSnapshots>(_: K) {}
}
