//! The traits that tie events, entities and repositories together.

use std::fmt::{Debug, Display};
use std::hash::Hash;

use serde::{Serialize, de::DeserializeOwned};

use crate::error::EntityHydrationError;
use crate::events::EntityEvents;

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
}

/// Turns a `New<Entity>` value into the entity's first events.
pub trait IntoEvents<E: EsEvent> {
    /// The events that create the entity.
    fn into_events(self) -> EntityEvents<E>;
}

/// Rebuilds an entity from its events (hydration).
pub trait TryFromEvents<E: EsEvent>: Sized {
    /// Replays `events` into the entity, or explains why it cannot.
    fn try_from_events(events: EntityEvents<E>) -> Result<Self, EntityHydrationError>;
}

/// An event-sourced entity. Derive it with `#[derive(EsEntity)]`.
pub trait EsEntity: TryFromEvents<Self::Event> + Send + Sync {
    /// The event enum.
    type Event: EsEvent;
    /// The value handed to `create`.
    type New: IntoEvents<Self::Event> + Send;

    /// The entity's events, persisted and new.
    fn events(&self) -> &EntityEvents<Self::Event>;
    /// Mutable access, used to push new events and by repositories to mark them persisted.
    fn events_mut(&mut self) -> &mut EntityEvents<Self::Event>;
}

/// A repository. Derive it with `#[derive(EsRepo)]`; the generated impl names
/// the entity and the per-entity error types.
pub trait EsRepo: Send + Sync {
    /// The entity this repository stores.
    type Entity: EsEntity;
    /// Error returned by `create`.
    type CreateError: std::error::Error + Send + Sync + 'static;
    /// Error returned by `update`.
    type ModifyError: std::error::Error + Send + Sync + 'static;
    /// Error returned by `find_by_*`.
    type FindError: std::error::Error + Send + Sync + 'static;
    /// Error returned by queries that may find nothing.
    type QueryError: std::error::Error
        + From<sqlx::Error>
        + From<EntityHydrationError>
        + Send
        + Sync
        + 'static;
}
