//! Writing one entity's new events: each serialized for the `JSONB[]` a
//! write binds and, unless the caller hydrates from the texts itself, parsed
//! back as a later read would; their parallel arrays; the check that a new
//! entity hydrates from what `create` stores. Bulk writes build theirs in
//! `bulk_write`.

use crate::error::{EntityHydrationError, HydrationFailure};
use crate::events::{EntityEvents, EsEvent, PersistedEvent};
use crate::traits::{EsEntity, TryFromEvents};

/// An event serialized for a write, bound into `JSONB[]` as it is.
pub type EventText = sqlx::types::Json<Box<serde_json::value::RawValue>>;

/// Whether a write parses each serialized event back (see [`serialize`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ReadBack {
    /// Parse it back here: the event must read back as itself.
    Check,
    /// The caller hydrates from the texts itself (`create`).
    Skip,
}

/// Serializes one new event for a write. With [`ReadBack::Check`] it is
/// parsed back into the event type as a later read would, and must come back
/// as the same variant; otherwise the write fails before anything is stored
/// with an error naming the entity and the event's sequence. Release builds
/// skip that parse for events the derive proved to read back
/// (`crate::round_trip`).
pub fn serialize<E: EsEvent>(
    entity_id: &E::EntityId,
    sequence: i32,
    event: &E,
    read_back: ReadBack,
) -> Result<EventText, EntityHydrationError> {
    let text = serde_json::value::to_raw_value(event)
        .map_err(|e| unreadable(entity_id, sequence, HydrationFailure::BadEvent(e)))?;
    if read_back == ReadBack::Check && crate::round_trip::read_back::<E>() {
        parse_back(entity_id, sequence, event, &text)?;
    }
    Ok(sqlx::types::Json(text))
}

/// `text`, the serialized `event`, parsed back as a later read would; it must
/// come back as the same variant.
fn parse_back<E: EsEvent>(
    entity_id: &E::EntityId,
    sequence: i32,
    event: &E,
    text: &serde_json::value::RawValue,
) -> Result<E, EntityHydrationError> {
    let back: E = serde_json::from_str(text.get())
        .map_err(|e| unreadable(entity_id, sequence, HydrationFailure::BadEvent(e)))?;
    if back.event_type() != event.event_type() {
        return Err(unreadable(
            entity_id,
            sequence,
            HydrationFailure::EventTypeMismatch {
                stored: event.event_type().to_owned(),
                decoded: back.event_type(),
            },
        ));
    }
    Ok(back)
}

fn unreadable(
    entity_id: &impl std::fmt::Display,
    sequence: i32,
    failure: HydrationFailure,
) -> EntityHydrationError {
    EntityHydrationError::new(
        Some(entity_id.to_string()),
        Some(i64::from(sequence)),
        failure,
    )
}

/// The new events of one entity as the parallel arrays a write binds.
pub struct EventBatch<'a> {
    /// Sequence numbers, continuing after the persisted events.
    pub sequences: Vec<i32>,
    /// `event_type` of each event.
    pub event_types: Vec<&'static str>,
    /// The events' JSON (see [`serialize`]).
    pub events: Vec<EventText>,
    /// The `context` column of each event.
    pub contexts: Vec<Option<sqlx::types::Json<&'a serde_json::Value>>>,
}

impl<'a> EventBatch<'a> {
    /// Collects the new events of `events`.
    pub fn new<E: EsEvent>(
        events: &'a EntityEvents<E>,
        read_back: ReadBack,
    ) -> Result<Self, EntityHydrationError> {
        let mut batch = Self {
            sequences: Vec::with_capacity(events.len_new()),
            event_types: Vec::with_capacity(events.len_new()),
            events: Vec::with_capacity(events.len_new()),
            contexts: Vec::with_capacity(events.len_new()),
        };
        batch.push(events, read_back)?;
        Ok(batch)
    }

    /// Appends the new events of `events`.
    fn push<E: EsEvent>(
        &mut self,
        events: &'a EntityEvents<E>,
        read_back: ReadBack,
    ) -> Result<(), EntityHydrationError> {
        for (sequence, event, context) in events.new_events_for_insert() {
            self.events
                .push(serialize(events.id(), sequence, event, read_back)?);
            self.sequences.push(sequence);
            self.event_types.push(event.event_type());
            self.contexts.push(context.map(sqlx::types::Json));
        }
        Ok(())
    }
}

/// Hydrates a new entity from exactly what `create` is about to store, as a
/// later read would: `texts` are its new events serialized for the write,
/// each parsed back here and required to come back as the same variant,
/// then handed to `TryFromEvents` as persisted events 1..n recorded `at`.
/// Nothing is stored. `create` and `create_all` call it before their
/// statement, so events that would not read back, or an entity its own
/// events do not hydrate, fail the create with nothing written.
pub fn check_hydrates<T: EsEntity>(
    events: &EntityEvents<T::Event>,
    texts: &[EventText],
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), EntityHydrationError> {
    let id = events.id();
    if texts.is_empty() {
        // Stored, it would be an index row without events: unreadable.
        return Err(EntityHydrationError::new(
            Some(id.to_string()),
            None,
            HydrationFailure::NoEvents,
        ));
    }
    let mut persisted = Vec::with_capacity(texts.len());
    for ((sequence, event, context), text) in events.new_events_for_insert().zip(texts) {
        let back = parse_back(id, sequence, event, &text.0)?;
        persisted.push(PersistedEvent {
            entity_id: id.clone(),
            sequence: persisted.len() + 1,
            recorded_at: at,
            event: back,
            context: context.cloned(),
        });
    }
    let copy = EntityEvents::from_persisted(id.clone(), persisted);
    <T as TryFromEvents<T::Event>>::try_from_events(copy).map(drop)
}

/// The first id that occurs twice in `ids`, if any.
pub fn first_duplicate<Id: std::hash::Hash + Eq + Clone>(ids: &[Id]) -> Option<Id> {
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    ids.iter().find(|id| !seen.insert(*id)).cloned()
}

/// A version (number of events) as the `INT4` sequences are stored.
pub fn version_i32(version: usize) -> i32 {
    i32::try_from(version).expect("an entity cannot hold more than i32::MAX events")
}

/// A stored sequence or version as a count; `None` for a negative one,
/// which no repository writes: bad data, not a version to report.
pub fn version_usize(version: i32) -> Option<usize> {
    usize::try_from(version).ok()
}
