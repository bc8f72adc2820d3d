//! [`EsEvent`] and [`EntityEvents`]: the events of one entity, persisted
//! and new. Rebuilding entities from stored rows is in `hydrate`.

use std::fmt::{Debug, Display};
use std::hash::Hash;

use chrono::{DateTime, Utc};
use serde::{Serialize, de::DeserializeOwned};

use crate::error::{EntityHydrationError, HydrationFailure};

/// An event enum of one entity type. Derive it with `#[derive(EsEvent)]`.
///
/// ```
/// use es_entity::*;
/// use serde::{Deserialize, Serialize};
///
/// entity_id! { UserId }
///
/// #[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
/// #[serde(tag = "type", rename_all = "snake_case")]
/// #[es_event(id = "UserId")]
/// pub enum UserEvent {
///     Initialized { id: UserId, name: String },
///     NameUpdated { name: String },
/// }
///
/// let event = UserEvent::NameUpdated { name: "Alice".into() };
/// assert_eq!(event.event_type(), "name_updated");
/// assert_eq!(UserEvent::EVENT_TYPES, &["initialized", "name_updated"]);
/// ```
pub trait EsEvent: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The id type of the entity these events belong to.
    type EntityId: Clone
        + PartialEq
        + Eq
        + Hash
        + Debug
        + Display
        + Serialize
        + DeserializeOwned
        + Send
        + Sync
        + Unpin
        + 'static;

    /// Every `event_type` this enum can produce, in declaration order.
    const EVENT_TYPES: &'static [&'static str];

    /// The snake_case name of this event's variant, stored in `event_type`.
    fn event_type(&self) -> &'static str;

    /// Whether every value of this type provably reads back from the JSON
    /// it is written as. `#[derive(EsEvent)]` answers from the enum's
    /// definition; the default, `false`, keeps the check every write runs
    /// (each new event parsed back before anything is sent). Not meant to be
    /// written by hand.
    #[doc(hidden)]
    fn __json_round_trip_proven() -> bool {
        false
    }
}

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
///
/// Only a repository's write marks events stored, once its statement
/// stored them; your code cannot:
///
/// ```compile_fail,E0624
/// use es_entity::*;
/// # use serde::{Deserialize, Serialize};
/// # entity_id! { UserId }
/// # #[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
/// # #[serde(tag = "type", rename_all = "snake_case")]
/// # #[es_event(id = "UserId")]
/// # pub enum UserEvent { Initialized { name: String } }
/// let mut events = EntityEvents::init(UserId::new(), [UserEvent::Initialized { name: "a".into() }]);
/// events.mark_new_events_persisted_at(es_entity::prelude::Utc::now()); // error: private method
/// ```
pub struct EntityEvents<E: EsEvent> {
    entity_id: E::EntityId,
    persisted: Vec<PersistedEvent<E>>,
    new: Vec<(E, Option<serde_json::Value>)>,
    /// Where the history was loaded from a snapshot, and the latest
    /// snapshot known stored (see `crate::snapshot`).
    pub(crate) snapshot: crate::snapshot::SnapshotMark,
}

// Clone and Debug copy or show the stored times: they count as reading
// them (`crate::stored_times`).
impl<E: EsEvent + Clone> Clone for EntityEvents<E> {
    fn clone(&self) -> Self {
        crate::stored_times::note_read();
        Self {
            entity_id: self.entity_id.clone(),
            persisted: self.persisted.clone(),
            new: self.new.clone(),
            snapshot: self.snapshot,
        }
    }
}

impl<E: EsEvent + Debug> Debug for EntityEvents<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::stored_times::note_read();
        f.debug_struct("EntityEvents")
            .field("entity_id", &self.entity_id)
            .field("persisted", &self.persisted)
            .field("new", &self.new)
            .field("snapshot", &self.snapshot)
            .finish()
    }
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
            snapshot: Default::default(),
        }
    }

    /// An empty history with room for `capacity` persisted events, which
    /// `hydrate` fills with [`Self::push_persisted`].
    pub(crate) fn with_capacity(entity_id: E::EntityId, capacity: usize) -> Self {
        Self {
            entity_id,
            persisted: Vec::with_capacity(capacity),
            new: Vec::new(),
            snapshot: Default::default(),
        }
    }

    /// Appends a stored event (before any new one); the caller checked
    /// that it continues the sequence.
    pub(crate) fn push_persisted(&mut self, event: PersistedEvent<E>) {
        debug_assert_eq!(event.sequence, self.len_persisted() + 1);
        self.persisted.push(event);
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
            snapshot: Default::default(),
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

    /// How many events are stored: the entity's version, the sequence of
    /// its last stored event (also when it was loaded from a snapshot).
    pub fn len_persisted(&self) -> usize {
        self.snapshot.base + self.persisted.len()
    }

    /// The stored events, oldest first. An entity loaded from a
    /// [snapshot](crate::HeadSnapshot) holds only the events stored after it.
    pub fn iter_persisted(&self) -> impl DoubleEndedIterator<Item = &PersistedEvent<E>> {
        crate::stored_times::note_read();
        self.persisted.iter()
    }

    /// The events waiting to be persisted, oldest first.
    pub fn iter_new(&self) -> impl DoubleEndedIterator<Item = &E> {
        self.new.iter().map(|(e, _)| e)
    }

    /// Every event, stored then new, oldest first. Reverse it with `.rev()`.
    /// An entity loaded from a [snapshot](crate::HeadSnapshot) holds only
    /// the events stored after it: `HeadSnapshot::try_from_snapshot` gets
    /// those, `TryFromEvents::try_from_events` always the whole history.
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
        crate::stored_times::note_read();
        let start = self.persisted.len().saturating_sub(n);
        LastPersisted {
            events: self.persisted[start..].iter(),
        }
    }

    /// When the first event was stored (the entity's creation time).
    pub fn entity_first_persisted_at(&self) -> Option<DateTime<Utc>> {
        crate::stored_times::note_read();
        self.snapshot
            .first_recorded_at
            .or_else(|| self.persisted.first().map(|p| p.recorded_at))
    }

    /// When the last event was stored.
    pub fn entity_last_modified_at(&self) -> Option<DateTime<Utc>> {
        crate::stored_times::note_read();
        self.persisted
            .last()
            .map(|p| p.recorded_at)
            .or(self.snapshot.recorded_at)
    }

    /// The new events with their sequence numbers, for a repository to write.
    pub(crate) fn new_events_for_insert(
        &self,
    ) -> impl ExactSizeIterator<Item = (i32, &E, Option<&serde_json::Value>)> {
        let base = self.len_persisted();
        self.new
            .iter()
            .enumerate()
            .map(move |(i, (e, c))| (sequence_to_i32(base + i + 1), e, c.as_ref()))
    }

    /// Replaces the new events, in order, keeping their contexts: `create_all`
    /// puts in the events as they read back from what it stores.
    pub(crate) fn replace_new_events(&mut self, events: Vec<E>) {
        debug_assert_eq!(events.len(), self.new.len());
        for ((slot, _), event) in self.new.iter_mut().zip(events) {
            *slot = event;
        }
    }

    /// Marks every new event as stored at `recorded_at`; returns how many
    /// there were. Only a repository's write may call it, after its
    /// statement stored them (`__private::EntityEventsExt`).
    pub(crate) fn mark_new_events_persisted_at(&mut self, recorded_at: DateTime<Utc>) -> usize {
        let n = self.new.len();
        let base = self.len_persisted();
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

    /// Sets the time of every stored event: `create_all` hydrates its new
    /// entities before its statement, then gives them the time it stored
    /// them at.
    pub(crate) fn set_recorded_at(&mut self, recorded_at: DateTime<Utc>) {
        for event in &mut self.persisted {
            event.recorded_at = recorded_at;
        }
    }

    /// Puts the last `n` stored events back among the new ones, before any
    /// new event, as they were before [`Self::mark_new_events_persisted_at`]:
    /// a repository undoes that marking when the transaction that stored
    /// them does not commit (a post-persist hook failed, or the commit did).
    pub(crate) fn unmark_last_persisted(&mut self, n: usize) {
        let start = self.persisted.len().saturating_sub(n);
        let back: Vec<_> = self
            .persisted
            .drain(start..)
            .map(|p| (p.event, p.context))
            .collect();
        self.new.splice(0..0, back);
        // A snapshot the undone write stored is gone with it: count from
        // the one the history was loaded from (a later one is only missed,
        // so the next capture comes early, never late).
        if self.snapshot.latest > self.len_persisted() {
            self.snapshot.latest = self.snapshot.base;
        }
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
/// # use es_entity::__private::EntityEventsExt as _;
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
