//! The rows of a generated `feed_after` read, decoded into a
//! [`FeedBatch`](crate::FeedBatch), and the values that read binds.

use crate::events::EsEvent;

/// One row of a generated `feed_after` statement: the horizon, and the
/// columns of one event (all `NULL` in the single row of an empty read, so
/// the horizon comes back either way).
pub struct FeedRow<Id, P> {
    /// `pg_snapshot_xmin` of the statement's snapshot.
    pub horizon: i64,
    /// The entity the event belongs to.
    pub entity_id: Option<Id>,
    /// The `sequence` column.
    pub sequence: Option<i32>,
    /// The `position` column.
    pub position: Option<i64>,
    /// The `transaction_id` column, as a number.
    pub transaction_id: Option<i64>,
    /// The `event_type` column.
    pub event_type: Option<String>,
    /// The `event` column.
    pub event: Option<P>,
    /// The `context` column.
    pub context: Option<serde_json::Value>,
    /// The `recorded_at` column.
    pub recorded_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The batch a `feed_after` read of at most `limit` events after `after`
/// returned. An event that does not decode is an error naming its entity
/// and sequence.
pub fn feed_batch<E: EsEvent>(
    rows: Vec<FeedRow<E::EntityId, crate::event_json::ParsedEvent<E>>>,
    after: Option<crate::feed::FeedCheckpoint>,
    limit: usize,
) -> Result<
    crate::feed::FeedBatch<crate::feed::FeedEvent<E::EntityId, E>>,
    crate::error::EntityHydrationError,
> {
    use crate::error::HydrationFailure;
    use crate::event_json::EventPayload;
    let horizon = rows.first().map_or(0, |r| r.horizon);
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        let (
            Some(entity_id),
            Some(sequence),
            Some(position),
            Some(transaction_id),
            Some(event_type),
            Some(event),
            Some(recorded_at),
        ) = (
            row.entity_id,
            row.sequence,
            row.position,
            row.transaction_id,
            row.event_type,
            row.event,
            row.recorded_at,
        )
        else {
            continue;
        };
        let fail = |failure| {
            crate::error::EntityHydrationError::new(
                Some(entity_id.to_string()),
                Some(i64::from(sequence)),
                failure,
            )
            .at_position(position)
        };
        // A sequence counts events: a negative one (never written by a
        // repository) has no `usize`.
        let Ok(sequence) = usize::try_from(sequence) else {
            return Err(fail(HydrationFailure::BadSequence(i64::from(sequence))));
        };
        let event = match event.into_event() {
            Ok(event) if event.event_type() == event_type => event,
            Ok(event) => {
                return Err(fail(HydrationFailure::EventTypeMismatch {
                    stored: event_type,
                    decoded: event.event_type(),
                }));
            }
            Err(_) if !E::EVENT_TYPES.contains(&event_type.as_str()) => {
                return Err(fail(HydrationFailure::UnknownEventType(event_type)));
            }
            Err(err) => return Err(fail(HydrationFailure::BadEvent(err))),
        };
        events.push(crate::feed::FeedEvent {
            entity_id,
            sequence,
            position,
            transaction_id,
            recorded_at,
            context: row.context,
            event,
        });
    }
    let exhausted = events.len() < limit;
    Ok(crate::feed::FeedBatch {
        checkpoint: events
            .last()
            .map(crate::feed::FeedItem::checkpoint)
            .or(after),
        events,
        horizon,
        exhausted,
    })
}

/// The `LIMIT` of a feed read: `limit`, or `i64::MAX` when it does not fit.
pub fn feed_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The `(transaction_id, position)` a feed read starts after; `(0, 0)`, before
/// every event, for `None` (`xid8` 0 is never a transaction's id).
pub fn feed_after(after: Option<crate::feed::FeedCheckpoint>) -> (i64, i64) {
    after.map_or((0, 0), |c| (c.transaction_id, c.position))
}

/// The sequence of the last stored event of `events`, `None` when none is
/// stored (or it does not fit the `sequence` column).
pub fn last_sequence<E: EsEvent>(events: &crate::events::EntityEvents<E>) -> Option<i32> {
    match events.len_persisted() {
        0 => None,
        n => i32::try_from(n).ok(),
    }
}
