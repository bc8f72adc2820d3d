//! [`EntityEvents`]: the event history of one entity, persisted and new.

use chrono::{DateTime, Utc};

use crate::error::{EntityHydrationError, HydrationFailure};
use crate::event_json::EventPayload;
use crate::traits::{EsEntity, EsEvent};

/// One event that has been stored, with its position and time.
#[derive(Debug, Clone)]
pub struct PersistedEvent<E: EsEvent> {
    /// The entity the event belongs to.
    pub entity_id: E::EntityId,
    /// Position in the entity's history, starting at 1.
    pub sequence: usize,
    /// When the event was written.
    pub recorded_at: DateTime<Utc>,
    /// The event itself.
    pub event: E,
    /// Optional context stored next to the event (the `context` column).
    pub context: Option<serde_json::Value>,
}

/// A stored event row as read from an events table, before decoding.
///
/// Repositories build these from their queries and hand them to
/// [`EntityEvents::load_first`] / [`EntityEvents::load_n`].
#[derive(Debug, Clone)]
pub struct GenericEvent<Id, P = crate::event_json::EventJson> {
    /// The entity the row belongs to.
    pub entity_id: Id,
    /// The `sequence` column.
    pub sequence: i32,
    /// The `event_type` column.
    pub event_type: String,
    /// The `event` column: [`ParsedEvent`](crate::ParsedEvent) in the rows
    /// repositories read, [`EventJson`](crate::EventJson) by default.
    pub event: P,
    /// The `context` column.
    pub context: Option<serde_json::Value>,
    /// The `recorded_at` column.
    pub recorded_at: DateTime<Utc>,
}

/// The event history of one entity: what is stored plus what is new.
///
/// ```
/// use es_entity::*;
/// # use serde::{Deserialize, Serialize};
/// # entity_id! { UserId }
/// # #[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
/// # #[serde(tag = "type", rename_all = "snake_case")]
/// # #[es_event(id = "UserId")]
/// # pub enum UserEvent { Initialized { name: String }, NameUpdated { name: String } }
/// let id = UserId::new();
/// let mut events = EntityEvents::init(id, [UserEvent::Initialized { name: "a".into() }]);
/// events.push(UserEvent::NameUpdated { name: "b".into() });
/// assert_eq!(events.len_persisted(), 0);
/// assert!(events.any_new());
/// assert_eq!(events.iter_all().count(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct EntityEvents<E: EsEvent> {
    entity_id: E::EntityId,
    persisted: Vec<PersistedEvent<E>>,
    new: Vec<(E, Option<serde_json::Value>)>,
}

impl<E: EsEvent> EntityEvents<E> {
    /// A history of persisted events only (they must run from sequence 1).
    pub(crate) fn from_persisted(
        entity_id: E::EntityId,
        persisted: Vec<PersistedEvent<E>>,
    ) -> Self {
        Self {
            entity_id,
            persisted,
            new: Vec::new(),
        }
    }

    /// A new history with `initial` events, none of them persisted yet.
    pub fn init(id: E::EntityId, initial: impl IntoIterator<Item = E>) -> Self {
        Self {
            entity_id: id,
            persisted: Vec::new(),
            new: initial
                .into_iter()
                .map(|e| (e, crate::event_context::ambient(None)))
                .collect(),
        }
    }

    /// The entity's id.
    pub fn id(&self) -> &E::EntityId {
        &self.entity_id
    }

    /// Stages a new event (with the [`EventContext`](crate::EventContext)
    /// in scope, if any).
    pub fn push(&mut self, event: E) {
        self.new.push((event, crate::event_context::ambient(None)));
    }

    /// Stages a new event with a JSON context stored in the `context` column.
    /// Fields of an [`EventContext`](crate::EventContext) in scope are
    /// added where `context` (an object) has none of that name.
    pub fn push_with_context(&mut self, event: E, context: serde_json::Value) {
        self.new
            .push((event, crate::event_context::ambient(Some(context))));
    }

    /// Stages several new events.
    pub fn extend(&mut self, events: impl IntoIterator<Item = E>) {
        self.new.extend(
            events
                .into_iter()
                .map(|e| (e, crate::event_context::ambient(None))),
        );
    }

    /// Whether any event waits to be persisted.
    pub fn any_new(&self) -> bool {
        !self.new.is_empty()
    }

    /// How many events wait to be persisted.
    pub fn len_new(&self) -> usize {
        self.new.len()
    }

    /// How many events are stored.
    pub fn len_persisted(&self) -> usize {
        self.persisted.len()
    }

    /// The stored events, oldest first.
    pub fn iter_persisted(&self) -> impl DoubleEndedIterator<Item = &PersistedEvent<E>> {
        self.persisted.iter()
    }

    /// The events waiting to be persisted, oldest first.
    pub fn iter_new(&self) -> impl DoubleEndedIterator<Item = &E> {
        self.new.iter().map(|(e, _)| e)
    }

    /// Every event, stored then new, oldest first. Reverse it with `.rev()`.
    pub fn iter_all(&self) -> impl DoubleEndedIterator<Item = &E> {
        self.persisted
            .iter()
            .map(|p| &p.event)
            .chain(self.new.iter().map(|(e, _)| e))
    }

    /// The last `n` stored events, oldest first (fewer if there are fewer).
    /// A repository's post-persist hook gets the events its write just
    /// stored this way.
    pub fn last_persisted(&self, n: usize) -> LastPersisted<'_, E> {
        let start = self.persisted.len().saturating_sub(n);
        LastPersisted {
            events: self.persisted[start..].iter(),
        }
    }

    /// When the first event was stored (the entity's creation time).
    pub fn entity_first_persisted_at(&self) -> Option<DateTime<Utc>> {
        self.persisted.first().map(|p| p.recorded_at)
    }

    /// When the last event was stored.
    pub fn entity_last_modified_at(&self) -> Option<DateTime<Utc>> {
        self.persisted.last().map(|p| p.recorded_at)
    }

    /// The new events with their sequence numbers, for a repository to write.
    #[doc(hidden)]
    pub fn new_events_for_insert(
        &self,
    ) -> impl ExactSizeIterator<Item = (i32, &E, Option<&serde_json::Value>)> {
        let base = self.persisted.len();
        self.new
            .iter()
            .enumerate()
            .map(move |(i, (e, c))| (sequence_to_i32(base + i + 1), e, c.as_ref()))
    }

    /// Marks every new event as stored at `recorded_at`; returns how many there were.
    #[doc(hidden)]
    pub fn mark_new_events_persisted_at(&mut self, recorded_at: DateTime<Utc>) -> usize {
        let n = self.new.len();
        let base = self.persisted.len();
        for (i, (event, context)) in self.new.drain(..).enumerate() {
            self.persisted.push(PersistedEvent {
                entity_id: self.entity_id.clone(),
                sequence: base + i + 1,
                recorded_at,
                event,
                context,
            });
        }
        n
    }

    /// Puts the last `n` stored events back among the new ones, before any
    /// new event, as they were before [`Self::mark_new_events_persisted_at`]:
    /// a repository undoes that marking when the transaction that stored
    /// them does not commit (a post-persist hook failed, or the commit did).
    #[doc(hidden)]
    pub fn unmark_last_persisted(&mut self, n: usize) {
        let start = self.persisted.len().saturating_sub(n);
        let back: Vec<_> = self
            .persisted
            .drain(start..)
            .map(|p| (p.event, p.context))
            .collect();
        self.new.splice(0..0, back);
    }

    /// Hydrates the first entity from rows ordered by `(id, sequence)`.
    ///
    /// Fails with [`HydrationFailure::NotFound`] when there is no row.
    pub fn load_first<T: EsEntity<Event = E>>(
        rows: impl IntoIterator<Item = GenericEvent<E::EntityId, impl EventPayload<E>>>,
    ) -> Result<T, EntityHydrationError> {
        match Self::load_n::<T>(rows, 1)?.0.pop() {
            Some(entity) => Ok(entity),
            None => Err(EntityHydrationError::new(
                None,
                None,
                HydrationFailure::NotFound,
            )),
        }
    }

    /// Hydrates up to `n` entities from rows grouped by entity (each group
    /// ordered by `sequence`). The flag says whether rows of more entities followed.
    pub fn load_n<T: EsEntity<Event = E>>(
        rows: impl IntoIterator<Item = GenericEvent<E::EntityId, impl EventPayload<E>>>,
        n: usize,
    ) -> Result<(Vec<T>, bool), EntityHydrationError> {
        let rows: Vec<_> = rows.into_iter().collect();
        // Each entity's events are one run of rows with its id: knowing the
        // runs sizes every history once instead of growing it event by event.
        let mut runs = Vec::new();
        let mut start = 0;
        while start < rows.len() {
            let id = &rows[start].entity_id;
            let len = rows[start..]
                .iter()
                .take_while(|r| &r.entity_id == id)
                .count();
            runs.push(len);
            start += len;
        }
        let mut runs = runs.into_iter();
        let mut out = Vec::new();
        let mut current: Option<Self> = None;
        for row in rows {
            let starts_new = current
                .as_ref()
                .is_none_or(|c| c.entity_id != row.entity_id);
            if starts_new {
                if let Some(done) = current.take() {
                    out.push(T::try_from_events(done)?);
                }
                if out.len() == n {
                    return Ok((out, true));
                }
                let run = runs.next().unwrap_or(0);
                current = Some(Self {
                    entity_id: row.entity_id.clone(),
                    persisted: Vec::with_capacity(run),
                    new: Vec::new(),
                });
            }
            let events = current.as_mut().expect("set above");
            events.push_row(row)?;
        }
        if let Some(done) = current.take() {
            out.push(T::try_from_events(done)?);
        }
        Ok((out, false))
    }

    /// Appends stored events this history had missed (the rows after its
    /// last persisted event, in sequence order), checking that each one
    /// continues the sequence and reads back.
    pub(crate) fn push_missed(
        &mut self,
        rows: impl IntoIterator<Item = GenericEvent<E::EntityId, impl EventPayload<E>>>,
    ) -> Result<(), EntityHydrationError> {
        rows.into_iter().try_for_each(|row| self.push_row(row))
    }

    fn push_row(
        &mut self,
        row: GenericEvent<E::EntityId, impl EventPayload<E>>,
    ) -> Result<(), EntityHydrationError> {
        let expected = self.persisted.len() + 1;
        let fail = |failure| {
            Err(EntityHydrationError::new(
                Some(row.entity_id.to_string()),
                Some(i64::from(row.sequence)),
                failure,
            ))
        };
        if row.sequence == 0 && expected == 1 {
            // The read's LEFT JOIN found an index row without events.
            return Err(EntityHydrationError::new(
                Some(row.entity_id.to_string()),
                None,
                HydrationFailure::NoEvents,
            ));
        }
        if usize::try_from(row.sequence).ok() != Some(expected) {
            return fail(HydrationFailure::SequenceGap {
                expected,
                found: i64::from(row.sequence),
            });
        }
        let event = match row.event.into_event() {
            Ok(event) if event.event_type() == row.event_type => event,
            Ok(event) => {
                return fail(HydrationFailure::EventTypeMismatch {
                    stored: row.event_type,
                    decoded: event.event_type(),
                });
            }
            Err(_) if !E::EVENT_TYPES.contains(&row.event_type.as_str()) => {
                return fail(HydrationFailure::UnknownEventType(row.event_type));
            }
            Err(err) => return fail(HydrationFailure::BadEvent(err)),
        };
        self.persisted.push(PersistedEvent {
            entity_id: row.entity_id,
            sequence: expected,
            recorded_at: row.recorded_at,
            event,
            context: row.context,
        });
        Ok(())
    }

    /// An error for `try_from_events` when the events never set `field`.
    pub fn missing_field(&self, field: &'static str) -> EntityHydrationError {
        EntityHydrationError::new(
            Some(self.entity_id.to_string()),
            None,
            HydrationFailure::MissingField(field),
        )
    }
}

fn sequence_to_i32(sequence: usize) -> i32 {
    i32::try_from(sequence).expect("an entity cannot hold more than i32::MAX events")
}

/// The events a write just stored, oldest first: what
/// [`EntityEvents::last_persisted`] returns and what a repository's
/// `post_persist_hook` receives. An iterator of [`PersistedEvent`]s that
/// also gives them as a slice.
///
/// ```
/// use es_entity::*;
/// # use serde::{Deserialize, Serialize};
/// # entity_id! { NoteId }
/// # #[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
/// # #[serde(tag = "type", rename_all = "snake_case")]
/// # #[es_event(id = "NoteId")]
/// # pub enum NoteEvent { Written { text: String } }
/// # let mut events = EntityEvents::init(NoteId::new(), [NoteEvent::Written { text: "a".into() }]);
/// # events.push(NoteEvent::Written { text: "b".into() });
/// # events.push(NoteEvent::Written { text: "c".into() });
/// # events.mark_new_events_persisted_at(es_entity::prelude::Utc::now());
/// // `events` holds three stored events.
/// let last = events.last_persisted(2);
/// assert_eq!(last.len(), 2);
/// assert_eq!(last.as_slice()[0].sequence, 2);
/// let sequences: Vec<usize> = last.map(|p| p.sequence).collect();
/// assert_eq!(sequences, [2, 3]);
/// ```
#[derive(Debug)]
pub struct LastPersisted<'a, E: EsEvent> {
    events: std::slice::Iter<'a, PersistedEvent<E>>,
}

impl<E: EsEvent> Clone for LastPersisted<'_, E> {
    fn clone(&self) -> Self {
        Self {
            events: self.events.clone(),
        }
    }
}

impl<'a, E: EsEvent> LastPersisted<'a, E> {
    /// The events not yet iterated, oldest first.
    pub fn as_slice(&self) -> &'a [PersistedEvent<E>] {
        self.events.as_slice()
    }
}

impl<'a, E: EsEvent> Iterator for LastPersisted<'a, E> {
    type Item = &'a PersistedEvent<E>;

    fn next(&mut self) -> Option<Self::Item> {
        self.events.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.events.size_hint()
    }
}

impl<E: EsEvent> DoubleEndedIterator for LastPersisted<'_, E> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.events.next_back()
    }
}

impl<E: EsEvent> ExactSizeIterator for LastPersisted<'_, E> {}

impl<E: EsEvent> std::iter::FusedIterator for LastPersisted<'_, E> {}
