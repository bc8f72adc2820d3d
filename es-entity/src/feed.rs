//! The event feed: every event of the repositories marked `#[es_repo(feed)]`
//! in one global order that never skips an event.
//!
//! Each events table taking part has two more columns, both filled by
//! defaults so writes do not change: `transaction_id XID8` (the writing
//! transaction, `pg_current_xact_id()`) and `position BIGINT` (from one
//! sequence shared by all events tables). A reader sees only the events of
//! transactions older than every transaction still running
//! (`transaction_id < pg_snapshot_xmin(pg_current_snapshot())`, the
//! [horizon](FeedBatch::horizon)) and orders them by
//! `(transaction_id, position)`. A transaction that took an early position
//! but commits late is still running while readers pass the later events, so
//! its `transaction_id` keeps the horizon below itself: the feed waits for it
//! instead of skipping it. A [`FeedCheckpoint`] is that pair.
//!
//! `xid8` has no Rust mapping in sqlx, so the statements read it as
//! `transaction_id::TEXT::BIGINT`. An `xid8` is the 32-bit epoch shifted
//! left 32 bits plus the 32-bit xid, so it fits an `i64` until the epoch
//! reaches 2³¹, i.e. after 2³¹ wrap-arounds of 4 billion transactions each.

use chrono::{DateTime, Utc};

/// A place in the feed: the `(transaction_id, position)` of an event.
/// Reading after it returns the events ordered after that event.
///
/// Checkpoints compare in feed order.
///
/// ```
/// use es_entity::FeedCheckpoint;
/// let a = FeedCheckpoint { transaction_id: 7, position: 40 };
/// let b = FeedCheckpoint { transaction_id: 8, position: 2 };
/// assert!(a < b); // the transaction decides first, then the position
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeedCheckpoint {
    /// The writing transaction's id (`xid8`, read as a number).
    pub transaction_id: i64,
    /// The event's place in the shared sequence of all events tables.
    pub position: i64,
}

/// One event of the feed with where it sits.
///
/// ```
/// use es_entity::{FeedCheckpoint, FeedEvent, FeedItem};
/// let ev = FeedEvent {
///     entity_id: 1u32,
///     sequence: 1,
///     position: 12,
///     transaction_id: 900,
///     recorded_at: chrono::Utc::now(),
///     context: None,
///     event: "opened",
/// };
/// assert_eq!(ev.checkpoint(), FeedCheckpoint { transaction_id: 900, position: 12 });
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEvent<Id, E> {
    /// The entity the event belongs to.
    pub entity_id: Id,
    /// The entity's version after this event (its `sequence` column, from
    /// 1), the same number as [`PersistedEvent::sequence`](crate::PersistedEvent::sequence).
    pub sequence: usize,
    /// The event's place in the shared sequence of all events tables.
    pub position: i64,
    /// The writing transaction's id (`xid8`, read as a number).
    pub transaction_id: i64,
    /// The `recorded_at` column.
    pub recorded_at: DateTime<Utc>,
    /// The `context` column.
    pub context: Option<serde_json::Value>,
    /// The event.
    pub event: E,
}

/// Anything with a place in the feed; [`merge_feeds`] orders by it. Implement it
/// for an enum over the [`FeedEvent`]s of several entity types to read
/// them in one order, delegating both methods to the wrapped event.
pub trait FeedItem {
    /// Where the item sits in the feed.
    fn checkpoint(&self) -> FeedCheckpoint;

    /// The entity event the item is, for errors that name it (a
    /// [projection](crate::projection) handler's failure). `None` by default.
    fn origin(&self) -> Option<FeedOrigin> {
        None
    }
}

/// The entity and version of a feed item, see [`FeedItem::origin`].
///
/// ```
/// use es_entity::{FeedEvent, FeedItem, FeedOrigin};
/// let ev = FeedEvent { entity_id: 7u32, sequence: 3, position: 12, transaction_id: 900,
///                      recorded_at: chrono::Utc::now(), context: None, event: "x" };
/// assert_eq!(ev.origin(), Some(FeedOrigin { entity_id: "7".into(), sequence: 3 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FeedOrigin {
    /// The entity's id, as text.
    pub entity_id: String,
    /// The entity's version after the event.
    pub sequence: usize,
}

impl std::fmt::Display for FeedOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "entity {} event {}", self.entity_id, self.sequence)
    }
}

impl<Id: std::fmt::Display, E> FeedItem for FeedEvent<Id, E> {
    fn checkpoint(&self) -> FeedCheckpoint {
        FeedCheckpoint {
            transaction_id: self.transaction_id,
            position: self.position,
        }
    }

    fn origin(&self) -> Option<FeedOrigin> {
        Some(FeedOrigin {
            entity_id: self.entity_id.to_string(),
            sequence: self.sequence,
        })
    }
}

impl std::fmt::Display for FeedCheckpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "position {} (transaction {})",
            self.position, self.transaction_id
        )
    }
}

/// A batch read from the feed by a generated `feed_after`.
#[derive(Debug, Clone)]
pub struct FeedBatch<T> {
    /// The events, in feed order.
    pub events: Vec<T>,
    /// Where to continue from: the last event's checkpoint, or the one the
    /// batch was read after when it is empty.
    pub checkpoint: Option<FeedCheckpoint>,
    /// The reader's horizon (`pg_snapshot_xmin` of its snapshot, as a
    /// number): every event of a transaction below it was visible.
    pub horizon: i64,
    /// Whether the read returned fewer events than asked for, i.e. it saw
    /// every event after the checkpoint below the horizon.
    pub exhausted: bool,
}

impl<T> FeedBatch<T> {
    /// The same batch with each event turned into `U` (e.g. wrapped in an
    /// enum over several entity types before a [`merge_feeds`]).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> FeedBatch<U> {
        FeedBatch {
            events: self.events.into_iter().map(f).collect(),
            checkpoint: self.checkpoint,
            horizon: self.horizon,
            exhausted: self.exhausted,
        }
    }
}

/// How far one batch is known to be complete: an event is covered when
/// every event of its table ordered before or at it is in the batch.
#[derive(Clone, Copy)]
struct Coverage {
    exhausted: bool,
    horizon: i64,
    last: Option<FeedCheckpoint>,
}

impl Coverage {
    fn of<T>(batch: &FeedBatch<T>) -> Self {
        Self {
            exhausted: batch.exhausted,
            horizon: batch.horizon,
            last: batch.checkpoint,
        }
    }

    fn covers(self, at: FeedCheckpoint) -> bool {
        if self.exhausted {
            at.transaction_id < self.horizon
        } else {
            self.last.is_some_and(|last| at <= last)
        }
    }
}

/// Merges batches read from several events tables after the same checkpoint
/// `after` into one batch in feed order, holding at most `limit` events.
///
/// Each batch is complete only up to a point: up to its last event when it
/// is full, up to its horizon when it is [exhausted](FeedBatch::exhausted).
/// The merge keeps only the events every batch covers, so the next read
/// after the merged checkpoint misses nothing, even when the batches were
/// read with different snapshots. Read with one snapshot (all reads inside
/// one `REPEATABLE READ` transaction), the batches share their horizon and
/// at least `min(limit, events waiting)` events are covered, so every merge
/// makes progress while events are waiting; with separate snapshots a merge
/// may keep fewer, and the next one catches up.
///
/// An empty merge continues from `after`.
///
/// ```
/// use es_entity::{FeedBatch, FeedCheckpoint, FeedEvent, merge_feeds};
/// fn ev(tx: i64, pos: i64) -> FeedEvent<u32, &'static str> {
///     FeedEvent { entity_id: 1, sequence: 1, position: pos, transaction_id: tx,
///                 recorded_at: chrono::Utc::now(), context: None, event: "x" }
/// }
/// let cp = |tx, pos| Some(FeedCheckpoint { transaction_id: tx, position: pos });
/// // Full: table a may hold more events after (10, 3).
/// let a = FeedBatch { events: vec![ev(10, 1), ev(10, 3)], checkpoint: cp(10, 3), horizon: 20, exhausted: false };
/// // Exhausted: table b has nothing more below transaction 20.
/// let b = FeedBatch { events: vec![ev(10, 2), ev(12, 4)], checkpoint: cp(12, 4), horizon: 20, exhausted: true };
/// let merged = merge_feeds(2, None, [a, b]);
/// let order: Vec<_> = merged.events.iter().map(|e| e.position).collect();
/// assert_eq!(order, [1, 2]);
/// assert_eq!(merged.checkpoint, cp(10, 2));
/// ```
pub fn merge_feeds<T: FeedItem>(
    limit: usize,
    after: Option<FeedCheckpoint>,
    batches: impl IntoIterator<Item = FeedBatch<T>>,
) -> FeedBatch<T> {
    let mut events: Vec<T> = Vec::new();
    let mut bounds = Vec::new();
    for batch in batches {
        bounds.push(Coverage::of(&batch));
        events.extend(batch.events);
    }
    events.sort_by_key(FeedItem::checkpoint);
    let keep = events
        .iter()
        .take(limit)
        .take_while(|e| bounds.iter().all(|b| b.covers(e.checkpoint())))
        .count();
    let exhausted = keep == events.len() && keep < limit && bounds.iter().all(|b| b.exhausted);
    events.truncate(keep);
    FeedBatch {
        checkpoint: events.last().map(FeedItem::checkpoint).or(after),
        events,
        horizon: bounds.iter().map(|b| b.horizon).min().unwrap_or(0),
        exhausted,
    }
}
