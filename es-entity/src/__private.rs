//! Items only generated code uses. Not part of the public API.

pub mod feed;
pub mod instrument;
pub mod post_persist;
pub mod query_arg;
pub mod sqlx_check;

pub use chrono;
pub use serde;
pub use serde_json;
pub use sqlx;
/// For the spans of the `instrument` feature.
pub use tracing;
pub use uuid;

pub use crate::classify::{
    CatalogConstraint, Constraints, bulk_modify_error, create_error, modify_error,
    unchecked_modify_error,
};
pub use feed::{FeedRow, feed_after, feed_batch, feed_limit, last_sequence};

pub use crate::column_types::{CatalogColumn, DeclaredColumn, check_columns, fits};

use crate::events::EntityEvents;
use crate::traits::EsEvent;

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
/// with an error naming the entity and the event's sequence.
pub fn serialize<E: EsEvent>(
    entity_id: &E::EntityId,
    sequence: i32,
    event: &E,
    read_back: ReadBack,
) -> Result<EventText, crate::error::EntityHydrationError> {
    let text = serde_json::value::to_raw_value(event).map_err(|e| {
        unreadable(
            entity_id,
            sequence,
            crate::error::HydrationFailure::BadEvent(e),
        )
    })?;
    if read_back == ReadBack::Check {
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
) -> Result<E, crate::error::EntityHydrationError> {
    use crate::error::HydrationFailure;
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
    failure: crate::error::HydrationFailure,
) -> crate::error::EntityHydrationError {
    crate::error::EntityHydrationError::new(
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
    ) -> Result<Self, crate::error::EntityHydrationError> {
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
    ) -> Result<(), crate::error::EntityHydrationError> {
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
pub fn check_hydrates<T: crate::traits::EsEntity>(
    events: &EntityEvents<T::Event>,
    texts: &[EventText],
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), crate::error::EntityHydrationError> {
    use crate::error::{EntityHydrationError, HydrationFailure};
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
        persisted.push(crate::events::PersistedEvent {
            entity_id: id.clone(),
            sequence: persisted.len() + 1,
            recorded_at: at,
            event: back,
            context: context.cloned(),
        });
    }
    let copy = EntityEvents::from_persisted(id.clone(), persisted);
    <T as crate::traits::TryFromEvents<T::Event>>::try_from_events(copy).map(drop)
}

/// [`check_hydrates`] for every new entity of a `create_all` batch, in
/// order: each entity's events are the next run of `texts`.
pub fn check_batch_hydrates<T: crate::traits::EsEntity>(
    histories: &[EntityEvents<T::Event>],
    texts: &[EventText],
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), crate::error::EntityHydrationError> {
    let mut start = 0;
    for events in histories {
        let end = start + events.len_new();
        check_hydrates::<T>(events, &texts[start..end], at)?;
        start = end;
    }
    Ok(())
}

/// The first id that occurs twice in `ids`, if any.
pub fn first_duplicate<Id: std::hash::Hash + Eq + Clone>(ids: &[Id]) -> Option<Id> {
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    ids.iter().find(|id| !seen.insert(*id)).cloned()
}

/// One row of a generated read: the event parsed while the row is decoded.
pub type Row<T> = crate::events::GenericEvent<
    <<T as crate::traits::EsEntity>::Event as EsEvent>::EntityId,
    crate::event_json::ParsedEvent<<T as crate::traits::EsEntity>::Event>,
>;

/// The Rust types a repository's reads decode the `entity_id` and `event`
/// columns into. Generated reads and `es_query!` name them in their column
/// aliases (`"event!: <Self as ::es_entity::__private::RepoRow>::Event"`), so
/// sqlx decodes both straight with these types (`try_get_unchecked`) instead
/// of comparing each row's column types with them first. `event` is always
/// JSONB (the reads' `COALESCE(e.event, 'null'::JSONB)`); an id column whose
/// type drifted from the entity id's shows up as the id type's decode error.
/// The path fits PostgreSQL's 63-byte limit on aliases, which a spelled-out
/// type may not.
pub trait RepoRow {
    /// The entity's id type.
    type Id;
    /// The `event` column: parsed into the event type while the row is decoded.
    type Event;
}

impl<R: crate::traits::EsRepo> RepoRow for R {
    type Id = <<R::Entity as crate::traits::EsEntity>::Event as EsEvent>::EntityId;
    type Event = crate::event_json::ParsedEvent<<R::Entity as crate::traits::EsEntity>::Event>;
}

/// Hydrates the one entity a `find_by_*` query returned.
pub fn find_one<T, C>(
    rows: Vec<Row<T>>,
    column: C,
    value: &dyn std::fmt::Debug,
) -> Result<T, crate::repo_error::FindError<C>>
where
    T: crate::traits::EsEntity,
    C: crate::repo_error::EntityColumn,
{
    use crate::repo_error::FindError;
    let (mut found, more) = EntityEvents::<T::Event>::load_n::<T>(rows, 1)?;
    if more {
        return Err(FindError::MultipleFound {
            column,
            value: format!("{value:?}"),
        });
    }
    found.pop().ok_or_else(|| FindError::NotFound {
        entity: C::ENTITY,
        column,
        value: format!("{value:?}"),
    })
}

/// `find_by_*` result as `maybe_find_by_*` returns it.
pub fn maybe_found<T, C: crate::repo_error::EntityColumn>(
    result: Result<T, crate::repo_error::FindError<C>>,
) -> Result<Option<T>, crate::repo_error::QueryError<C>> {
    use crate::repo_error::{FindError, QueryError};
    match result {
        Ok(t) => Ok(Some(t)),
        Err(FindError::NotFound { .. }) => Ok(None),
        Err(FindError::MultipleFound { column, value }) => {
            Err(QueryError::MultipleFound { column, value })
        }
        Err(FindError::Sqlx(e)) => Err(QueryError::Sqlx(e)),
        Err(FindError::HydrationError(e)) => Err(QueryError::HydrationError(e)),
    }
}

/// The `LIMIT` of a page: one row more than asked, to learn whether more follow.
pub fn page_limit(first: usize) -> i64 {
    i64::try_from(first)
        .unwrap_or(i64::MAX - 1)
        .saturating_add(1)
}

/// Hydrates one page of a listing; the end cursor is read from the last entity.
pub fn page<T, C>(
    rows: Vec<Row<T>>,
    first: usize,
) -> Result<crate::pagination::PaginatedQueryRet<T, C>, crate::error::EntityHydrationError>
where
    T: crate::traits::EsEntity,
    C: for<'a> From<&'a T>,
{
    let (entities, has_next_page) = EntityEvents::<T::Event>::load_n::<T>(rows, first)?;
    let end_cursor = entities.last().map(C::from);
    Ok(crate::pagination::PaginatedQueryRet {
        entities,
        has_next_page,
        end_cursor,
    })
}

/// Hydrates every entity of a `find_all` into a map by id.
pub fn find_all<T, Out>(
    rows: Vec<Row<T>>,
) -> Result<
    std::collections::HashMap<<T::Event as EsEvent>::EntityId, Out>,
    crate::error::EntityHydrationError,
>
where
    T: crate::traits::EsEntity,
    Out: From<T>,
{
    let (entities, _) = EntityEvents::<T::Event>::load_n::<T>(rows, usize::MAX)?;
    Ok(entities
        .into_iter()
        .map(|e| (e.events().id().clone(), Out::from(e)))
        .collect())
}

/// The new events of many entities as the parallel arrays a bulk write
/// binds: each event names its entity by its 1-based position in the batch
/// (`entities`), which the statement resolves against the batch's ids array,
/// so no id is sent twice and no id type needs a SQL name here.
pub struct BulkEvents<'a> {
    /// Position (1-based) of each event's entity in the batch.
    pub entities: Vec<i32>,
    /// Every entity's new events, one after the other.
    pub columns: EventBatch<'a>,
}

impl<'a> BulkEvents<'a> {
    /// Collects the new events of every history, in order.
    pub fn new<E: EsEvent>(
        histories: impl IntoIterator<Item = &'a EntityEvents<E>>,
        read_back: ReadBack,
    ) -> Result<Self, crate::error::EntityHydrationError> {
        let mut batch = Self {
            entities: Vec::new(),
            columns: EventBatch {
                sequences: Vec::new(),
                event_types: Vec::new(),
                events: Vec::new(),
                contexts: Vec::new(),
            },
        };
        for (position, events) in histories.into_iter().enumerate() {
            let entity = i32::try_from(position + 1).expect("a batch of at most i32::MAX entities");
            batch.columns.push(events, read_back)?;
            batch.entities.resize(batch.columns.sequences.len(), entity);
        }
        Ok(batch)
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

/// After a last-writer-wins write: brings `entity` up to date with the
/// database. `missed` are the events other writers stored after the
/// entity's loaded version, and `version` is the stream's version the write
/// appended after. With nothing missed, the new events are marked stored
/// (sequences `version + 1..`); otherwise the whole history (loaded, missed,
/// new) is replayed into a new entity that replaces `entity`, so its fields
/// reflect the missed events too.
///
/// On failure the events are stored but `entity` could not be rebuilt: it
/// is left with an empty history, so that no later write can build on it.
pub fn refresh_after_unchecked<T: crate::traits::EsEntity>(
    entity: &mut T,
    missed: Vec<crate::events::GenericEvent<<T::Event as EsEvent>::EntityId>>,
    version: usize,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<crate::UncheckedWrite, crate::error::EntityHydrationError> {
    use crate::error::{EntityHydrationError, HydrationFailure};
    let events = entity.events_mut();
    if missed.is_empty() && events.len_persisted() == version {
        let written = events.mark_new_events_persisted_at(at);
        return Ok(crate::UncheckedWrite { written, missed: 0 });
    }
    let id = events.id().clone();
    let mut history =
        std::mem::replace(events, EntityEvents::from_persisted(id.clone(), Vec::new()));
    let missed_n = missed.len();
    history.push_missed(missed)?;
    if history.len_persisted() != version {
        // The stream is behind what the entity was loaded at: not a history
        // this entity can continue.
        return Err(EntityHydrationError::new(
            Some(id.to_string()),
            None,
            HydrationFailure::SequenceGap {
                expected: history.len_persisted() + 1,
                found: i64::try_from(version + 1).unwrap_or(i64::MAX),
            },
        ));
    }
    let written = history.mark_new_events_persisted_at(at);
    *entity = <T as crate::traits::TryFromEvents<T::Event>>::try_from_events(history)?;
    Ok(crate::UncheckedWrite {
        written,
        missed: missed_n,
    })
}

/// A version (number of events) as the `INT4` sequences are stored.
pub fn version_i32(version: usize) -> i32 {
    i32::try_from(version).expect("an entity cannot hold more than i32::MAX events")
}

/// A stored sequence or version as a count; a negative one (never written
/// by a repository) counts as 0.
pub fn version_usize(version: i32) -> usize {
    usize::try_from(version).unwrap_or(0)
}

/// A one-time executor on a connection generated code holds.
pub fn executor_on(
    conn: &mut sqlx::PgConnection,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> crate::OneTimeExecutor<'_> {
    crate::one_time_executor::on_connection(conn, now)
}

/// `create_or_find`'s outcome once the holders of the new entity's keys are
/// known: none (the conflict is gone, or on a constraint no `unique` column
/// names: the caller creates again to learn which), one (load it), several
/// (an error naming them).
pub enum KeyHolders<Id> {
    /// Nobody holds them now.
    Nobody,
    /// This entity holds them.
    One(Id),
}

/// Sorts the holders `create_or_find` found.
pub fn key_holders<Id: ToString + PartialEq, C: crate::EntityColumn>(
    mut ids: Vec<Id>,
) -> Result<KeyHolders<Id>, crate::CreateError<C>> {
    ids.dedup();
    match ids.len() {
        0 => Ok(KeyHolders::Nobody),
        1 => Ok(KeyHolders::One(ids.remove(0))),
        _ => Err(crate::CreateError::KeysSpanEntities {
            entity_ids: ids.iter().map(ToString::to_string).collect(),
        }),
    }
}

/// The holder `create_or_find` loaded, or why it could not: a soft-deleted
/// holder is not found by a plain load.
pub fn found_holder<T, C: crate::EntityColumn>(
    loaded: Result<T, crate::FindError<C>>,
    id: &impl ToString,
) -> Result<crate::CreateOrFind<T>, crate::CreateError<C>> {
    match loaded {
        Ok(entity) => Ok(crate::CreateOrFind::Found(entity)),
        Err(crate::FindError::NotFound { .. }) => Err(crate::CreateError::KeyHeldByDeleted {
            entity_id: id.to_string(),
        }),
        Err(crate::FindError::Sqlx(e)) => Err(crate::CreateError::Sqlx(e)),
        Err(crate::FindError::HydrationError(e)) => Err(crate::CreateError::HydrationError(e)),
        Err(e @ crate::FindError::MultipleFound { .. }) => Err(crate::CreateError::Sqlx(
            sqlx::Error::Protocol(format!("loading the holder of the keys: {e}")),
        )),
    }
}
