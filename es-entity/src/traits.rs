//! The traits that tie events, entities and repositories together.

use crate::error::EntityHydrationError;
use crate::events::{EntityEvents, EsEvent};

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
