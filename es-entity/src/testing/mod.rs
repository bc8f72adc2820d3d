//! Given/when/then tests of an entity's commands, with no database.
//!
//! An entity is a fold of its events, so a command can be tested on an
//! entity built from a list of events:
//!
//! - [`given`] builds the entity from its history exactly as a repository
//!   load would (each event stored as JSON, read back with sequences
//!   1, 2, 3…, hydrated through [`TryFromEvents`](crate::TryFromEvents));
//!   [`given_new`] starts from the `New…` value `create` would take;
//! - [`Given::when`] runs one command on it;
//! - the `then_*` methods of [`When`] check what the command did: the new
//!   events it recorded ([`When::then_events`]), none at all
//!   ([`When::then_no_new_events`], [`When::then_already_applied`]), or an
//!   error ([`When::then_error`]).
//!
//! Events are compared as they would be stored, by their `event_type` and
//! their JSON, so the event enum needs no `PartialEq` or `Debug`. A failing
//! check panics at the test's line with the first differing event's index,
//! both sides, and the fields that differ.
//!
//! Nothing here needs a feature or an extra dependency. Entities with nested
//! child entities do not exist yet; when they are added, `given` has to
//! take the children's histories as well.
//!
//! Tests that need tables can use `#[sqlx::test]`, which gives each test a
//! freshly migrated database of its own and works with the generated
//! repositories as they are: see the book's chapter "Testing your entities".
//!
//! ```
//! use es_entity::prelude::*;
//! use es_entity::testing::given;
//! # entity_id! { UserId }
//! # #[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
//! # #[serde(tag = "type", rename_all = "snake_case")]
//! # #[es_event(id = "UserId")]
//! # pub enum UserEvent {
//! #     Initialized { id: UserId, name: String },
//! #     NameUpdated { name: String },
//! # }
//! # #[derive(EsEntity, Debug)]
//! # pub struct User { pub name: String, events: EntityEvents<UserEvent> }
//! # impl TryFromEvents<UserEvent> for User {
//! #     fn try_from_events(events: EntityEvents<UserEvent>) -> Result<Self, EntityHydrationError> {
//! #         let mut name = None;
//! #         for event in events.iter_all() {
//! #             match event {
//! #                 UserEvent::Initialized { name: n, .. } | UserEvent::NameUpdated { name: n } => name = Some(n.clone()),
//! #             }
//! #         }
//! #         Ok(User { name: name.ok_or_else(|| events.missing_field("name"))?, events })
//! #     }
//! # }
//! # pub struct NewUser { pub id: UserId, pub name: String }
//! # impl IntoEvents<UserEvent> for NewUser {
//! #     fn into_events(self) -> EntityEvents<UserEvent> {
//! #         EntityEvents::init(self.id, [UserEvent::Initialized { id: self.id, name: self.name }])
//! #     }
//! # }
//! # impl User {
//! #     pub fn update_name(&mut self, name: &str) -> Idempotent<()> {
//! #         idempotency_guard!(
//! #             self.events.iter_all().rev(),
//! #             already_applied: UserEvent::NameUpdated { name: n } if n == name,
//! #             resets_on: UserEvent::NameUpdated { .. }
//! #         );
//! #         self.name = name.to_owned();
//! #         self.events.push(UserEvent::NameUpdated { name: name.to_owned() });
//! #         Idempotent::Executed(())
//! #     }
//! # }
//! let id = UserId::new();
//! given::<User>(id, [UserEvent::Initialized { id, name: "Ada".into() }])
//!     .when(|user| user.update_name("Grace"))
//!     .then_events([UserEvent::NameUpdated { name: "Grace".into() }]);
//!
//! given::<User>(id, [
//!     UserEvent::Initialized { id, name: "Ada".into() },
//!     UserEvent::NameUpdated { name: "Grace".into() },
//! ])
//! .when(|user| user.update_name("Grace"))
//! .then_already_applied();
//! ```

mod outcome;
mod report;

use chrono::{DateTime, Utc};

use crate::error::EntityHydrationError;
use crate::event_json::EventJson;
use crate::events::EsEvent;
use crate::events::{EntityEvents, GenericEvent};
use crate::traits::{EsEntity, IntoEvents};

use outcome::Outcome;
use report::{Recorded, fail};

pub use outcome::IdempotentOutcome;

/// The id type of entity `T`.
type IdOf<T> = <<T as EsEntity>::Event as EsEvent>::EntityId;

/// An entity `T` built from a history of events, as a repository would
/// load it, ready for a command: see [`given`], [`given_new`] and
/// [`Given::when`].
///
/// ```
/// # use es_entity::prelude::*;
/// # entity_id! { NoteId }
/// # #[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
/// # #[serde(tag = "type", rename_all = "snake_case")]
/// # #[es_event(id = "NoteId")]
/// # pub enum NoteEvent { Written { text: String } }
/// # #[derive(EsEntity)]
/// # pub struct Note { text: String, events: EntityEvents<NoteEvent> }
/// # impl TryFromEvents<NoteEvent> for Note {
/// #     fn try_from_events(events: EntityEvents<NoteEvent>) -> Result<Self, EntityHydrationError> {
/// #         let text = events.iter_all().map(|NoteEvent::Written { text }| text.clone()).last();
/// #         Ok(Note { text: text.ok_or_else(|| events.missing_field("text"))?, events })
/// #     }
/// # }
/// # pub struct NewNote;
/// # impl IntoEvents<NoteEvent> for NewNote {
/// #     fn into_events(self) -> EntityEvents<NoteEvent> { unimplemented!() }
/// # }
/// use es_entity::testing::given;
///
/// let note = given::<Note>(NoteId::new(), [
///     NoteEvent::Written { text: "draft".into() },
///     NoteEvent::Written { text: "final".into() },
/// ]);
/// // Loaded: two stored events with sequences 1 and 2, none new.
/// assert_eq!(note.entity().text, "final");
/// assert_eq!(note.entity().events().len_persisted(), 2);
/// assert!(!note.entity().events().any_new());
/// ```
pub struct Given<T: EsEntity> {
    id: IdOf<T>,
    history: Vec<Stored>,
    recorded_at: DateTime<Utc>,
    entity: T,
}

/// One event of a history, as a repository would store it.
struct Stored {
    event: Recorded,
    context: Option<serde_json::Value>,
}

/// Builds an entity `T` from its stored `history`, oldest first, as a
/// repository load would: each event is turned into JSON and read back,
/// with sequences 1, 2, 3… and one `recorded_at`, then hydrated through
/// `T`'s [`TryFromEvents`](crate::TryFromEvents). The entity has no new
/// events.
///
/// The event enum carries no id the kit could read, so the entity's `id`
/// is passed here (or comes from the `New…` value, see [`given_new`]).
///
/// # Panics
/// When the history does not hydrate (an empty history, an event that does
/// not read back from its JSON, `try_from_events` refusing it), with the
/// [`EntityHydrationError`] and the history; [`try_given`] returns the
/// error instead.
///
/// ```
/// # use es_entity::prelude::*;
/// # entity_id! { NoteId }
/// # #[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
/// # #[serde(tag = "type", rename_all = "snake_case")]
/// # #[es_event(id = "NoteId")]
/// # pub enum NoteEvent { Written { text: String }, Erased }
/// # #[derive(EsEntity)]
/// # pub struct Note { text: String, events: EntityEvents<NoteEvent> }
/// # impl TryFromEvents<NoteEvent> for Note {
/// #     fn try_from_events(events: EntityEvents<NoteEvent>) -> Result<Self, EntityHydrationError> {
/// #         let mut text = None;
/// #         for event in events.iter_all() {
/// #             match event {
/// #                 NoteEvent::Written { text: t } => text = Some(t.clone()),
/// #                 NoteEvent::Erased => text = Some(String::new()),
/// #             }
/// #         }
/// #         Ok(Note { text: text.ok_or_else(|| events.missing_field("text"))?, events })
/// #     }
/// # }
/// # impl Note {
/// #     fn erase(&mut self) -> Idempotent<()> {
/// #         idempotency_guard!(self.events.iter_all().rev(), already_applied: NoteEvent::Erased, resets_on: NoteEvent::Written { .. });
/// #         self.text.clear();
/// #         self.events.push(NoteEvent::Erased);
/// #         Idempotent::Executed(())
/// #     }
/// # }
/// # pub struct NewNote;
/// # impl IntoEvents<NoteEvent> for NewNote {
/// #     fn into_events(self) -> EntityEvents<NoteEvent> { unimplemented!() }
/// # }
/// use es_entity::testing::given;
///
/// given::<Note>(NoteId::new(), [NoteEvent::Written { text: "hi".into() }])
///     .when(|note| note.erase())
///     .then_events([NoteEvent::Erased]);
/// ```
#[track_caller]
pub fn given<T: EsEntity>(id: IdOf<T>, history: impl IntoIterator<Item = T::Event>) -> Given<T> {
    hydrated(id, stored_all(history), Utc::now())
}

/// [`given`] that returns the [`EntityHydrationError`] of a history that
/// does not hydrate instead of panicking, to test `try_from_events` itself.
///
/// ```
/// # use es_entity::prelude::*;
/// # entity_id! { NoteId }
/// # #[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
/// # #[serde(tag = "type", rename_all = "snake_case")]
/// # #[es_event(id = "NoteId")]
/// # pub enum NoteEvent { Written { text: String }, Erased }
/// # #[derive(EsEntity)]
/// # pub struct Note { text: String, events: EntityEvents<NoteEvent> }
/// # impl TryFromEvents<NoteEvent> for Note {
/// #     fn try_from_events(events: EntityEvents<NoteEvent>) -> Result<Self, EntityHydrationError> {
/// #         let mut text = None;
/// #         for event in events.iter_all() {
/// #             match event {
/// #                 NoteEvent::Written { text: t } => text = Some(t.clone()),
/// #                 NoteEvent::Erased => text = Some(String::new()),
/// #             }
/// #         }
/// #         Ok(Note { text: text.ok_or_else(|| events.missing_field("text"))?, events })
/// #     }
/// # }
/// # pub struct NewNote;
/// # impl IntoEvents<NoteEvent> for NewNote {
/// #     fn into_events(self) -> EntityEvents<NoteEvent> { unimplemented!() }
/// # }
/// use es_entity::{HydrationFailure, testing::try_given};
///
/// let err = try_given::<Note>(NoteId::new(), []).err().unwrap();
/// assert!(matches!(err.failure(), HydrationFailure::NotFound));
/// assert!(try_given::<Note>(NoteId::new(), [NoteEvent::Erased]).is_ok());
/// ```
#[track_caller]
pub fn try_given<T: EsEntity>(
    id: IdOf<T>,
    history: impl IntoIterator<Item = T::Event>,
) -> Result<Given<T>, EntityHydrationError> {
    try_hydrated(id, stored_all(history), Utc::now()).map_err(|(err, _)| err)
}

/// The entity as `create` would leave it: `new`'s events (from its
/// [`IntoEvents`]) stored and hydrated as in [`given`], the id taken from
/// them. Add later events with [`Given::and`].
///
/// # Panics
/// As [`given`], when the history does not hydrate.
///
/// ```
/// # use es_entity::prelude::*;
/// # entity_id! { NoteId }
/// # #[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
/// # #[serde(tag = "type", rename_all = "snake_case")]
/// # #[es_event(id = "NoteId")]
/// # pub enum NoteEvent { Written { text: String }, Erased }
/// # #[derive(EsEntity)]
/// # pub struct Note { text: String, events: EntityEvents<NoteEvent> }
/// # impl TryFromEvents<NoteEvent> for Note {
/// #     fn try_from_events(events: EntityEvents<NoteEvent>) -> Result<Self, EntityHydrationError> {
/// #         let mut text = None;
/// #         for event in events.iter_all() {
/// #             match event {
/// #                 NoteEvent::Written { text: t } => text = Some(t.clone()),
/// #                 NoteEvent::Erased => text = Some(String::new()),
/// #             }
/// #         }
/// #         Ok(Note { text: text.ok_or_else(|| events.missing_field("text"))?, events })
/// #     }
/// # }
/// pub struct NewNote {
///     id: NoteId,
///     text: String,
/// }
///
/// impl IntoEvents<NoteEvent> for NewNote {
///     fn into_events(self) -> EntityEvents<NoteEvent> {
///         EntityEvents::init(self.id, [NoteEvent::Written { text: self.text }])
///     }
/// }
///
/// use es_entity::testing::given_new;
///
/// let id = NoteId::new();
/// let note = given_new::<Note>(NewNote { id, text: "hi".into() }).and([NoteEvent::Erased]);
/// assert_eq!(*note.entity().events().id(), id);
/// assert_eq!(note.entity().text, "");
/// ```
#[track_caller]
pub fn given_new<T: EsEntity>(new: T::New) -> Given<T>
where
    T::New: IntoEvents<T::Event>,
{
    let events = new.into_events();
    let mut history = Vec::with_capacity(events.len_new());
    // A loop, not a closure: a closure would hide the test's line from
    // `#[track_caller]` should an event not serialize.
    for (_, event, context) in events.new_events_for_insert() {
        history.push(stored(event, context.cloned()));
    }
    hydrated(events.id().clone(), history, Utc::now())
}

#[track_caller]
fn hydrated<T: EsEntity>(
    id: IdOf<T>,
    history: Vec<Stored>,
    recorded_at: DateTime<Utc>,
) -> Given<T> {
    match try_hydrated(id, history, recorded_at) {
        Ok(given) => given,
        Err((err, history)) => fail(format!(
            "the given history does not hydrate into `{}`: {err}\n{}",
            std::any::type_name::<T>(),
            report::list("history", &history, 1),
        )),
    }
}

/// The entity a repository would load from `history`, or why it cannot,
/// with the history as it would be stored.
fn try_hydrated<T: EsEntity>(
    id: IdOf<T>,
    history: Vec<Stored>,
    recorded_at: DateTime<Utc>,
) -> Result<Given<T>, (EntityHydrationError, Vec<Recorded>)> {
    let rows = history.iter().enumerate().map(|(i, event)| GenericEvent {
        entity_id: id.clone(),
        sequence: i32::try_from(i + 1).expect("a history of at most i32::MAX events"),
        event_type: event.event.event_type.to_owned(),
        event: EventJson::from(event.event.text.clone()),
        context: event.context.clone(),
        recorded_at,
    });
    match EntityEvents::load_first::<T>(rows) {
        Ok(entity) => Ok(Given {
            id,
            history,
            recorded_at,
            entity,
        }),
        Err(err) => Err((err, history.into_iter().map(|s| s.event).collect())),
    }
}

impl<T: EsEntity> Given<T> {
    /// The same history followed by `more` stored events, hydrated again.
    ///
    /// # Panics
    /// As [`given`], when the longer history does not hydrate.
    #[track_caller]
    pub fn and(self, more: impl IntoIterator<Item = T::Event>) -> Self {
        let mut history = self.history;
        history.extend(stored_all(more));
        hydrated(self.id, history, self.recorded_at)
    }

    /// The hydrated entity, before any command.
    pub fn entity(&self) -> &T {
        &self.entity
    }

    /// The hydrated entity, to use it in a test of your own.
    pub fn into_entity(self) -> T {
        self.entity
    }

    /// Runs `command` on the entity and keeps what it returned, for the
    /// `then_*` checks of [`When`]. Any command works: one returning
    /// `Idempotent<T>`, `Result<…, E>`, `()` or anything else.
    pub fn when<R>(self, command: impl FnOnce(&mut T) -> R) -> When<T, R> {
        let mut entity = self.entity;
        let before = entity.events().len_new();
        let result = command(&mut entity);
        When {
            entity,
            result,
            before,
        }
    }
}

/// An entity after one command, with what the command returned: check it
/// with the `then_*` methods, which return `self` so checks can be chained.
///
/// ```
/// # use es_entity::prelude::*;
/// # entity_id! { NoteId }
/// # #[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
/// # #[serde(tag = "type", rename_all = "snake_case")]
/// # #[es_event(id = "NoteId")]
/// # pub enum NoteEvent { Written { text: String } }
/// # #[derive(EsEntity)]
/// # pub struct Note { text: String, events: EntityEvents<NoteEvent> }
/// # impl TryFromEvents<NoteEvent> for Note {
/// #     fn try_from_events(events: EntityEvents<NoteEvent>) -> Result<Self, EntityHydrationError> {
/// #         let text = events.iter_all().map(|NoteEvent::Written { text }| text.clone()).last();
/// #         Ok(Note { text: text.ok_or_else(|| events.missing_field("text"))?, events })
/// #     }
/// # }
/// # pub struct NewNote;
/// # impl IntoEvents<NoteEvent> for NewNote {
/// #     fn into_events(self) -> EntityEvents<NoteEvent> { unimplemented!() }
/// # }
/// # impl Note {
/// #     fn append(&mut self, more: &str) -> usize {
/// #         self.text.push_str(more);
/// #         self.events.push(NoteEvent::Written { text: self.text.clone() });
/// #         self.text.len()
/// #     }
/// # }
/// use es_entity::testing::given;
///
/// let then = given::<Note>(NoteId::new(), [NoteEvent::Written { text: "a".into() }])
///     .when(|note| note.append("b"))
///     .then_events([NoteEvent::Written { text: "ab".into() }]);
/// assert_eq!(*then.result(), 2);
/// assert_eq!(then.entity().text, "ab");
/// ```
pub struct When<T: EsEntity, R> {
    entity: T,
    result: R,
    before: usize,
}

impl<T: EsEntity, R> When<T, R> {
    /// Checks that the command recorded exactly `expected`, in order.
    ///
    /// # Panics
    /// Otherwise, naming the first differing new event by index (and the
    /// sequence it would be stored with), showing both sides' JSON, the
    /// fields that differ, and both lists.
    #[track_caller]
    pub fn then_events(self, expected: impl IntoIterator<Item = T::Event>) -> Self {
        let expected: Vec<T::Event> = expected.into_iter().collect();
        let expected = recorded_all(&expected);
        let actual = self.recorded();
        if let Some(message) = report::events_differ(&expected, &actual, self.first_sequence()) {
            fail(message);
        }
        self
    }

    /// Checks that the command recorded no event, whatever it returned: a
    /// command that found nothing to do, returning `()`, `false` or
    /// [`Idempotent::AlreadyApplied`](crate::Idempotent::AlreadyApplied).
    ///
    /// # Panics
    /// When it recorded some, listing them.
    ///
    /// ```
    /// # use es_entity::prelude::*;
    /// # entity_id! { NoteId }
    /// # #[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
    /// # #[serde(tag = "type", rename_all = "snake_case")]
    /// # #[es_event(id = "NoteId")]
    /// # pub enum NoteEvent { Written { text: String } }
    /// # #[derive(EsEntity)]
    /// # pub struct Note { text: String, events: EntityEvents<NoteEvent> }
    /// # impl TryFromEvents<NoteEvent> for Note {
    /// #     fn try_from_events(events: EntityEvents<NoteEvent>) -> Result<Self, EntityHydrationError> {
    /// #         let text = events.iter_all().map(|NoteEvent::Written { text }| text.clone()).last();
    /// #         Ok(Note { text: text.ok_or_else(|| events.missing_field("text"))?, events })
    /// #     }
    /// # }
    /// # pub struct NewNote;
    /// # impl IntoEvents<NoteEvent> for NewNote {
    /// #     fn into_events(self) -> EntityEvents<NoteEvent> { unimplemented!() }
    /// # }
    /// impl Note {
    ///     /// Writes `text` unless the note says so already.
    ///     pub fn write(&mut self, text: &str) {
    ///         if self.text != text {
    ///             self.text = text.to_owned();
    ///             self.events.push(NoteEvent::Written { text: text.to_owned() });
    ///         }
    ///     }
    /// }
    ///
    /// use es_entity::testing::given;
    ///
    /// given::<Note>(NoteId::new(), [NoteEvent::Written { text: "a".into() }])
    ///     .when(|note| note.write("a"))
    ///     .then_no_new_events();
    /// ```
    #[track_caller]
    pub fn then_no_new_events(self) -> Self {
        let actual = self.recorded();
        if !actual.is_empty() {
            fail(format!(
                "expected no new events, the command recorded {}:\n{}",
                report::count(actual.len()),
                report::list_items(&actual, self.first_sequence()),
            ));
        }
        self
    }

    /// The events the command recorded, oldest first.
    pub fn new_events(&self) -> Vec<&T::Event> {
        self.entity.events().iter_new().skip(self.before).collect()
    }

    /// The entity after the command.
    pub fn entity(&self) -> &T {
        &self.entity
    }

    /// What the command returned.
    pub fn result(&self) -> &R {
        &self.result
    }

    /// The entity and what the command returned.
    pub fn into_parts(self) -> (T, R) {
        (self.entity, self.result)
    }

    /// The command's new events as they would be stored.
    #[track_caller]
    fn recorded(&self) -> Vec<Recorded> {
        recorded_all(self.new_events())
    }

    /// The sequence the command's first new event would be stored with.
    fn first_sequence(&self) -> usize {
        self.entity.events().len_persisted() + self.before + 1
    }
}

impl<T: EsEntity, O, E: std::fmt::Debug> When<T, Result<O, E>> {
    /// Checks that the command failed without recording any event, and
    /// returns its error for further checks.
    ///
    /// # Panics
    /// When the command succeeded, or failed but recorded events (a command
    /// that refuses should leave the entity as it was; to test one that
    /// records events and fails, read [`When::new_events`] and
    /// [`When::result`] instead).
    ///
    /// ```
    /// # use es_entity::prelude::*;
    /// # entity_id! { NoteId }
    /// # #[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
    /// # #[serde(tag = "type", rename_all = "snake_case")]
    /// # #[es_event(id = "NoteId")]
    /// # pub enum NoteEvent { Written { text: String } }
    /// # #[derive(EsEntity)]
    /// # pub struct Note { text: String, events: EntityEvents<NoteEvent> }
    /// # impl TryFromEvents<NoteEvent> for Note {
    /// #     fn try_from_events(events: EntityEvents<NoteEvent>) -> Result<Self, EntityHydrationError> {
    /// #         let text = events.iter_all().map(|NoteEvent::Written { text }| text.clone()).last();
    /// #         Ok(Note { text: text.ok_or_else(|| events.missing_field("text"))?, events })
    /// #     }
    /// # }
    /// # pub struct NewNote;
    /// # impl IntoEvents<NoteEvent> for NewNote {
    /// #     fn into_events(self) -> EntityEvents<NoteEvent> { unimplemented!() }
    /// # }
    /// #[derive(Debug, PartialEq)]
    /// pub struct TooLong(usize);
    ///
    /// impl Note {
    ///     pub fn write(&mut self, text: &str) -> Result<(), TooLong> {
    ///         if text.len() > 5 {
    ///             return Err(TooLong(text.len()));
    ///         }
    ///         self.text = text.to_owned();
    ///         self.events.push(NoteEvent::Written { text: text.to_owned() });
    ///         Ok(())
    ///     }
    /// }
    ///
    /// use es_entity::testing::given;
    ///
    /// let err = given::<Note>(NoteId::new(), [NoteEvent::Written { text: "a".into() }])
    ///     .when(|note| note.write("far too long"))
    ///     .then_error();
    /// assert_eq!(err, TooLong(12));
    /// ```
    #[track_caller]
    pub fn then_error(self) -> E {
        let actual = self.recorded();
        let first = self.first_sequence();
        match self.result {
            Ok(_) => fail(format!(
                "expected the command to fail, it succeeded and recorded {}",
                report::recorded_tail(&actual, first),
            )),
            Err(err) if actual.is_empty() => err,
            Err(err) => fail(format!(
                "the command failed with {err:?} but recorded {} \
                 (a command that fails should leave the entity unchanged):\n{}",
                report::count(actual.len()),
                report::list_items(&actual, first),
            )),
        }
    }

    /// Checks that the command succeeded, and keeps its `Ok` value as the
    /// result, so `then_events` and the others can follow.
    ///
    /// # Panics
    /// When it returned an error, showing it.
    ///
    /// ```
    /// # use es_entity::prelude::*;
    /// # entity_id! { NoteId }
    /// # #[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
    /// # #[serde(tag = "type", rename_all = "snake_case")]
    /// # #[es_event(id = "NoteId")]
    /// # pub enum NoteEvent { Written { text: String } }
    /// # #[derive(EsEntity)]
    /// # pub struct Note { text: String, events: EntityEvents<NoteEvent> }
    /// # impl TryFromEvents<NoteEvent> for Note {
    /// #     fn try_from_events(events: EntityEvents<NoteEvent>) -> Result<Self, EntityHydrationError> {
    /// #         let text = events.iter_all().map(|NoteEvent::Written { text }| text.clone()).last();
    /// #         Ok(Note { text: text.ok_or_else(|| events.missing_field("text"))?, events })
    /// #     }
    /// # }
    /// # pub struct NewNote;
    /// # impl IntoEvents<NoteEvent> for NewNote {
    /// #     fn into_events(self) -> EntityEvents<NoteEvent> { unimplemented!() }
    /// # }
    /// # impl Note {
    /// #     pub fn write(&mut self, text: &str) -> Result<usize, String> {
    /// #         self.text = text.to_owned();
    /// #         self.events.push(NoteEvent::Written { text: text.to_owned() });
    /// #         Ok(text.len())
    /// #     }
    /// # }
    /// use es_entity::testing::given;
    ///
    /// let then = given::<Note>(NoteId::new(), [NoteEvent::Written { text: "a".into() }])
    ///     .when(|note| note.write("bc"))
    ///     .then_ok()
    ///     .then_events([NoteEvent::Written { text: "bc".into() }]);
    /// assert_eq!(*then.result(), 2);
    /// ```
    #[track_caller]
    pub fn then_ok(self) -> When<T, O> {
        match self.result {
            Ok(value) => When {
                entity: self.entity,
                result: value,
                before: self.before,
            },
            Err(err) => fail(format!(
                "expected the command to succeed, it failed with {err:?}"
            )),
        }
    }
}

impl<T: EsEntity, R> When<T, R> {
    /// Checks that an idempotent command found its effect already in the
    /// history: it returned [`Idempotent::AlreadyApplied`](crate::Idempotent::AlreadyApplied) (or
    /// `Ok(Idempotent::AlreadyApplied)`) and recorded no event.
    ///
    /// # Panics
    /// Otherwise, saying what it returned and listing what it recorded.
    #[track_caller]
    pub fn then_already_applied(self) -> Self
    where
        R: IdempotentOutcome,
    {
        let actual = self.recorded();
        let first = self.first_sequence();
        match outcome::outcome(&self.result) {
            Outcome::AlreadyApplied if actual.is_empty() => {}
            Outcome::AlreadyApplied => fail(format!(
                "the command returned `AlreadyApplied` but recorded {}:\n{}",
                report::count(actual.len()),
                report::list_items(&actual, first),
            )),
            Outcome::Executed => fail(format!(
                "expected the command to return `AlreadyApplied`, it returned `Executed` \
                 and recorded {}",
                report::recorded_tail(&actual, first),
            )),
            Outcome::Failed(err) => fail(format!(
                "expected the command to return `Ok(AlreadyApplied)`, it failed with {err} \
                 and recorded {}",
                report::recorded_tail(&actual, first),
            )),
        }
        self
    }
}

/// `event` as a repository would store it.
#[track_caller]
fn stored<E: EsEvent>(event: &E, context: Option<serde_json::Value>) -> Stored {
    Stored {
        event: Recorded::of(event),
        context,
    }
}

/// `events`, without context, as a repository would store them.
#[track_caller]
fn stored_all<E: EsEvent>(events: impl IntoIterator<Item = E>) -> Vec<Stored> {
    let mut out = Vec::new();
    for event in events {
        out.push(stored(&event, None));
    }
    out
}

/// `events` as a repository would store them (loops rather than closures
/// throughout, so `#[track_caller]` reaches the test's line).
#[track_caller]
fn recorded_all<'a, E: EsEvent>(events: impl IntoIterator<Item = &'a E>) -> Vec<Recorded> {
    let mut out = Vec::new();
    for event in events {
        out.push(Recorded::of(event));
    }
    out
}
