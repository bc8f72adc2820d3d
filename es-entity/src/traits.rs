//! The traits that tie events, entities and repositories together.

use crate::error::EntityHydrationError;
use crate::events::{EntityEvents, EsEvent};

/// Turns a `New<Entity>` value into the entity's first events. The value
/// carries the id the caller chose; a repository declared with
/// `#[es_repo(id(source = "repo"))]` assigns the id itself and uses
/// [`IntoEventsWithId`] instead.
pub trait IntoEvents<E: EsEvent> {
    /// The events that create the entity.
    fn into_events(self) -> EntityEvents<E>;
}

/// Turns a `New<Entity>` value that carries no id into the entity's first
/// events, given the id the repository assigned. A repository declared with
/// `#[es_repo(id(source = "repo"))]` calls it from every `create*`
/// function with a fresh [`GenerateId::generate`] id per entity.
///
/// ```
/// use es_entity::prelude::*;
///
/// entity_id! { CouponId }
///
/// #[derive(EsEvent, Debug, Serialize, Deserialize)]
/// #[serde(tag = "type", rename_all = "snake_case")]
/// #[es_event(id = "CouponId")]
/// pub enum CouponEvent {
///     Issued { code: String },
/// }
///
/// // No `id` field: the repository assigns it.
/// pub struct NewCoupon {
///     pub code: String,
/// }
///
/// impl IntoEventsWithId<CouponEvent> for NewCoupon {
///     fn into_events(self, id: CouponId) -> EntityEvents<CouponEvent> {
///         EntityEvents::init(id, [CouponEvent::Issued { code: self.code }])
///     }
/// }
///
/// let id = CouponId::generate();
/// let events = NewCoupon { code: "SPRING".into() }.into_events(id);
/// assert_eq!(*events.id(), id);
/// assert_eq!(events.len_new(), 1);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `IntoEventsWithId<{E}>`, which a repository with `id(source = \"repo\")` needs",
    label = "the repository assigns the id, so its `New` type `{Self}` must take it in `IntoEventsWithId<{E}>`",
    note = "implement `es_entity::IntoEventsWithId<{E}> for {Self}` (`fn into_events(self, id) -> EntityEvents<{E}>`), or remove `id(source = \"repo\")` to keep caller-chosen ids with `IntoEvents`"
)]
pub trait IntoEventsWithId<E: EsEvent> {
    /// The events that create the entity whose id is `id`.
    fn into_events(self, id: E::EntityId) -> EntityEvents<E>;
}

/// An id type that can make a fresh, unique value on its own, as a
/// repository declared with `#[es_repo(id(source = "repo"))]` does for each
/// entity it creates. [`entity_id!`](crate::entity_id) types implement it
/// with a time-ordered UUID (version 7).
///
/// ```
/// use es_entity::GenerateId;
///
/// es_entity::entity_id! { OrderId }
///
/// let (a, b) = (OrderId::generate(), OrderId::generate());
/// assert_ne!(a, b);
/// assert_eq!(uuid::Uuid::from(a).get_version_num(), 7);
/// ```
#[diagnostic::on_unimplemented(
    message = "the id type `{Self}` does not implement `GenerateId`, which a repository with `id(source = \"repo\")` needs",
    label = "the repository makes a new `{Self}` for each entity it creates",
    note = "declare the id with `es_entity::entity_id!` (version 7 UUIDs) or implement `es_entity::GenerateId for {Self}`"
)]
pub trait GenerateId: Sized {
    /// A new id, distinct from every id made before.
    fn generate() -> Self;
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
    /// The value handed to `create`: it implements [`IntoEvents`] when the
    /// caller chooses the id, [`IntoEventsWithId`] when the repository
    /// assigns it (`#[es_repo(id(source = "repo"))]`).
    type New: Send;

    /// The entity's events, persisted and new.
    fn events(&self) -> &EntityEvents<Self::Event>;
    /// Mutable access, used to push new events and by repositories to mark them persisted.
    fn events_mut(&mut self) -> &mut EntityEvents<Self::Event>;

    /// Whether the entity's nested children (`#[es_entity(nested)]`) have
    /// anything for a write; the derive implements it for an entity with
    /// nested fields.
    #[doc(hidden)]
    fn nested_changed(&self) -> bool {
        false
    }

    /// How many persisted events the entity's nested children hold, theirs
    /// included (what a parent's `create` wrote besides its own events).
    #[doc(hidden)]
    fn nested_events_persisted(&self) -> usize {
        0
    }
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
