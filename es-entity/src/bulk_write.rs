//! The new events of a bulk write (`create_all`, `update_all`) as the
//! parallel arrays its one statement binds, built in one pass over the
//! batch: each event is serialized once, into one buffer the whole batch
//! shares (no allocation per event), parsed back once from there as a later
//! read would (nothing unreadable is stored; skipped in release builds for
//! events the derive proved to read back, see `crate::round_trip`), and sent
//! from that buffer. `create_all` hydrates each new entity once, from its own
//! events (the parsed-back ones when they were parsed back), which move into
//! it.

use std::borrow::Cow;
use std::ops::Range;

use chrono::{DateTime, Utc};
use sqlx::encode::{Encode, IsNull};
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, Postgres};
use sqlx::types::Json;

use crate::bind_limit::BatchTooLarge;
use crate::error::{EntityHydrationError, HydrationFailure};
use crate::events::{EntityEvents, EsEvent};
use crate::traits::{EsEntity, TryFromEvents};

/// The new events of many entities as the parallel arrays a bulk write
/// binds: each event names its entity by its 1-based position in the batch
/// (`entities`), which the statement resolves against the batch's ids array,
/// so no id is sent twice and no id type needs a SQL name here.
pub struct BulkEvents<'a> {
    /// Position (1-based) of each event's entity in the batch.
    pub entities: Vec<i32>,
    /// Sequence numbers, continuing after each entity's persisted events.
    pub sequences: Vec<i32>,
    /// `event_type` of each event.
    pub event_types: Vec<&'static str>,
    /// The events' JSON, bound as `JSONB[]`.
    pub events: EventTexts,
    /// The `context` column of each event, bound as `JSONB[]`; the last
    /// parameter of the statement, so its encoding checks the size of the
    /// whole bind (see [`Contexts`]).
    pub contexts: Contexts<'a>,
}

impl<'a> BulkEvents<'a> {
    fn with_capacity(events: usize, entities: usize) -> Self {
        Self {
            entities: Vec::with_capacity(events),
            sequences: Vec::with_capacity(events),
            event_types: Vec::with_capacity(events),
            events: EventTexts::with_capacity(events),
            contexts: Contexts {
                values: Vec::with_capacity(events),
                entities,
            },
        }
    }

    /// `update_all`: the new events of every history, in order, each
    /// serialized and parsed back (it must come back as the same variant,
    /// or the write fails before anything is sent, naming the entity and
    /// the sequence).
    pub fn for_update<E: EsEvent>(
        histories: &[&'a EntityEvents<E>],
    ) -> Result<Self, EntityHydrationError> {
        let total = histories.iter().map(|h| h.len_new()).sum();
        let mut batch = Self::with_capacity(total, histories.len());
        let read_back = crate::round_trip::read_back::<E>();
        for (position, history) in histories.iter().enumerate() {
            let entity = position_i32(position);
            for (sequence, event, context) in history.new_events_for_insert() {
                let context = context.map(Cow::Borrowed);
                let text = batch.push(history.id(), entity, sequence, event, context)?;
                if read_back {
                    drop(batch.events.check(history.id(), sequence, event, text)?);
                }
            }
        }
        Ok(batch)
    }

    /// `create_all`: the new events of every history, in order, each
    /// serialized and parsed back, and each new entity hydrated from its
    /// events (the parsed-back ones, or its own where the derive proved them
    /// equal), marked persisted as events 1..n recorded `at`, as a later
    /// read would give them. Fails before anything is sent when an event
    /// does not read back or an entity does not hydrate (or has no event).
    /// Returns the arrays and the hydrated entities, in input order;
    /// [`created`] turns them into what `create_all` returns once the
    /// statement has run.
    pub fn for_create<T: EsEntity>(
        histories: Vec<EntityEvents<T::Event>>,
        at: DateTime<Utc>,
    ) -> Result<(Self, Hydrated<T>), EntityHydrationError> {
        let total = histories.iter().map(|h| h.len_new()).sum();
        let mut batch = Self::with_capacity(total, histories.len());
        let mut hydrated = Hydrated {
            entities: Vec::with_capacity(histories.len()),
            read_times: Vec::with_capacity(histories.len()),
            at,
        };
        let read_back = crate::round_trip::read_back::<T::Event>();
        for (position, mut history) in histories.into_iter().enumerate() {
            let entity = position_i32(position);
            if !history.any_new() {
                // Stored, it would be an index row without events: unreadable.
                return Err(EntityHydrationError::new(
                    Some(history.id().to_string()),
                    None,
                    HydrationFailure::NoEvents,
                ));
            }
            let id = history.id();
            let mut read = Vec::with_capacity(if read_back { history.len_new() } else { 0 });
            for (sequence, event, context) in history.new_events_for_insert() {
                // The batch outlives the history, which moves into its entity.
                let context = context.map(|c| Cow::Owned(c.clone()));
                let text = batch.push(id, entity, sequence, event, context)?;
                if read_back {
                    read.push(batch.events.check(id, sequence, event, text)?);
                }
            }
            if read_back {
                // The entity holds what a later read gives, not what was
                // written (a field serde skips reads back as its default).
                history.replace_new_events(read);
            }
            history.mark_new_events_persisted_at(at);
            let (entity, read_times) = crate::stored_times::watch(|| {
                <T as TryFromEvents<T::Event>>::try_from_events(history)
            });
            hydrated.entities.push(entity?);
            hydrated.read_times.push(read_times);
        }
        Ok((batch, hydrated))
    }

    /// Appends one event; returns where its text is in [`Self::events`].
    fn push<E: EsEvent>(
        &mut self,
        id: &E::EntityId,
        entity: i32,
        sequence: i32,
        event: &E,
        context: Option<Cow<'a, serde_json::Value>>,
    ) -> Result<Range<usize>, EntityHydrationError> {
        let text = self
            .events
            .push(event)
            .map_err(|e| unreadable(id, sequence, HydrationFailure::BadEvent(e)))?;
        self.entities.push(entity);
        self.sequences.push(sequence);
        self.event_types.push(event.event_type());
        self.contexts.values.push(context.map(Json));
        Ok(text)
    }

    /// How many events the batch holds.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// Whether the batch holds no event.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }
}

/// The new entities of a `create_all`, hydrated before its statement runs
/// with their events recorded `at`, and whether each one's hydration read a
/// stored time (`crate::stored_times`).
pub struct Hydrated<T> {
    entities: Vec<T>,
    read_times: Vec<bool>,
    at: DateTime<Utc>,
}

/// What `create_all` returns: the entities [`BulkEvents::for_create`]
/// hydrated, their events recorded `now`, the time the statement stored
/// them. When that is the time they were hydrated with (`at`, the
/// operation's time when it has one) they are returned as they are.
/// Otherwise each entity's events get the stored time, and an entity whose
/// hydration read a stored time is hydrated again, so what it derived from
/// `recorded_at` is what a later read gives.
pub fn created<T: EsEntity>(
    hydrated: Hydrated<T>,
    now: DateTime<Utc>,
) -> Result<Vec<T>, EntityHydrationError> {
    let Hydrated {
        mut entities,
        read_times,
        at,
    } = hydrated;
    if now == at {
        return Ok(entities);
    }
    for (entity, read_times) in entities.iter_mut().zip(read_times) {
        let events = entity.events_mut();
        if !read_times {
            events.set_recorded_at(now);
            continue;
        }
        let mut history =
            std::mem::replace(events, EntityEvents::with_capacity(events.id().clone(), 0));
        history.set_recorded_at(now);
        *entity = <T as TryFromEvents<T::Event>>::try_from_events(history)?;
    }
    Ok(entities)
}

fn position_i32(position: usize) -> i32 {
    i32::try_from(position + 1).expect("a batch of at most i32::MAX entities")
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

/// The JSON texts of a batch's events, one after the other in one buffer,
/// bound as a `JSONB[]` whose elements are those texts (the binary `jsonb`
/// format is a version byte, 1, then the text), copied from the buffer.
pub struct EventTexts {
    text: Vec<u8>,
    /// Where each event's text ends in `text`.
    ends: Vec<usize>,
}

impl EventTexts {
    fn with_capacity(events: usize) -> Self {
        Self {
            // A guess that saves most of the buffer's regrowth for small events.
            text: Vec::with_capacity(events * 96),
            ends: Vec::with_capacity(events),
        }
    }

    /// Serializes `event` at the end of the buffer; returns where it is.
    fn push<E: serde::Serialize>(&mut self, event: &E) -> Result<Range<usize>, serde_json::Error> {
        let start = self.text.len();
        if let Err(e) = serde_json::to_writer(&mut self.text, event) {
            self.text.truncate(start);
            return Err(e);
        }
        self.ends.push(self.text.len());
        Ok(start..self.text.len())
    }

    /// The event at `text` parsed back as a later read would; it must come
    /// back as the same variant as `event`.
    fn check<E: EsEvent>(
        &self,
        id: &E::EntityId,
        sequence: i32,
        event: &E,
        text: Range<usize>,
    ) -> Result<E, EntityHydrationError> {
        // serde_json writes UTF-8: checked once here for the whole event,
        // `from_str` then skips checking each string inside it again.
        let text = std::str::from_utf8(&self.text[text]).expect("serde_json writes UTF-8");
        let back: E = serde_json::from_str(text)
            .map_err(|e| unreadable(id, sequence, HydrationFailure::BadEvent(e)))?;
        if back.event_type() != event.event_type() {
            return Err(unreadable(
                id,
                sequence,
                HydrationFailure::EventTypeMismatch {
                    stored: event.event_type().to_owned(),
                    decoded: back.event_type(),
                },
            ));
        }
        Ok(back)
    }

    /// The texts, in order.
    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let text = &self.text[start..end];
            start = end;
            text
        })
    }
}

impl sqlx::Type<Postgres> for EventTexts {
    fn type_info() -> PgTypeInfo {
        <Json<()> as PgHasArrayType>::array_type_info()
    }
}

impl Encode<'_, Postgres> for EventTexts {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        let elements = i32::try_from(self.ends.len())
            .map_err(|_| format!("{} events do not fit one array", self.ends.len()))?;
        let element_type = <Json<()> as sqlx::Type<Postgres>>::type_info()
            .oid()
            .ok_or("the jsonb type has a fixed OID")?;
        // One dimension, no NULLs, the element type, the length, lower bound 1.
        buf.extend_from_slice(&1_i32.to_be_bytes());
        buf.extend_from_slice(&0_i32.to_be_bytes());
        buf.extend_from_slice(&element_type.0.to_be_bytes());
        buf.extend_from_slice(&elements.to_be_bytes());
        buf.extend_from_slice(&1_i32.to_be_bytes());
        buf.reserve(self.text.len() + 5 * self.ends.len());
        for text in self.iter() {
            let len = i32::try_from(text.len() + 1)
                .map_err(|_| format!("an event of {} bytes does not fit a value", text.len()))?;
            buf.extend_from_slice(&len.to_be_bytes());
            buf.push(1);
            buf.extend_from_slice(text);
        }
        Ok(IsNull::No)
    }

    fn size_hint(&self) -> usize {
        20 + self.text.len() + 5 * self.ends.len()
    }
}

/// The `context` column of a batch's events, bound as `JSONB[]`. It is the
/// last parameter of `create_all`'s and `update_all`'s statements: once it
/// is encoded, the buffer holds every parameter of the statement, and its
/// size is checked against PostgreSQL's limit on the message that carries
/// them ([`BatchTooLarge::check`]). A batch past it fails there, before
/// anything is sent, with [`BatchTooLarge`] as the error `sqlx` returns
/// (`sqlx::Error::Encode`), which the repository reports as its
/// `BatchTooLarge` variant.
pub struct Contexts<'a> {
    values: Vec<Option<Json<Cow<'a, serde_json::Value>>>>,
    /// Entities in the batch, for the error.
    entities: usize,
}

impl sqlx::Type<Postgres> for Contexts<'_> {
    fn type_info() -> PgTypeInfo {
        <Json<()> as PgHasArrayType>::array_type_info()
    }
}

impl Encode<'_, Postgres> for Contexts<'_> {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        let encoded = <&[Option<Json<Cow<'_, serde_json::Value>>>] as Encode<Postgres>>::encode(
            &self.values[..],
            buf,
        )?;
        BatchTooLarge::check(buf.len(), self.entities, self.values.len())?;
        Ok(encoded)
    }

    fn size_hint(&self) -> usize {
        20 + 4 * self.values.len()
    }
}
