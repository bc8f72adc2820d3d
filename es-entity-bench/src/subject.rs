//! What every implementation offers the workloads. The driver is generic over
//! [`Subject`], so ours, the floor and the two peers run through the same
//! code.

use std::future::Future;

use uuid::Uuid;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Res<T> = Result<T, BoxError>;

/// The outcome of a write that can lose an optimistic-concurrency race.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Done,
    /// Another writer appended first (each implementation's own signal:
    /// ours `ModifyError::ConcurrentModification`, the floor a unique
    /// violation on `(id, sequence)`, the peer `Transient(OptimisticConflict)`,
    /// peer012 `AccountModifyError::ConcurrentModification`).
    Conflict,
}

pub trait Subject: Send + Sync + 'static {
    type Entity: Send + 'static;
    type Cursor: Send + Sync + 'static;

    /// Short name used in the table.
    const NAME: &'static str;

    /// Persists a new account (Initialized event) and returns it.
    fn create(&self, id: Uuid, name: String) -> impl Future<Output = Res<Self::Entity>> + Send;

    /// Stages one `Deposited { amount }` event (in memory only).
    fn deposit(entity: &mut Self::Entity, amount: i64);

    /// Stages one `NameChanged { name }` event (in memory only).
    fn rename(entity: &mut Self::Entity, name: String);

    /// Writes the staged events.
    fn update<'a>(
        &'a self,
        entity: &'a mut Self::Entity,
    ) -> impl Future<Output = Res<Write>> + Send + 'a;

    fn find_by_id(&self, id: Uuid) -> impl Future<Output = Res<Self::Entity>> + Send;

    fn find_by_name<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Future<Output = Res<Self::Entity>> + Send + 'a;

    /// One page of `first` accounts ordered by name after `after`: how many
    /// came back, and the cursor of the next page when there is one.
    fn list_by_name(
        &self,
        first: usize,
        after: Option<Self::Cursor>,
    ) -> impl Future<Output = Res<(usize, Option<Self::Cursor>)>> + Send;

    fn create_all(
        &self,
        new: Vec<(Uuid, String)>,
    ) -> impl Future<Output = Res<Vec<Self::Entity>>> + Send;

    /// Writes the staged events of every entity; returns how many events.
    fn update_all<'a>(
        &'a self,
        entities: &'a mut [Self::Entity],
    ) -> impl Future<Output = Res<usize>> + Send + 'a;

    fn id(entity: &Self::Entity) -> Uuid;
    fn balance(entity: &Self::Entity) -> i64;
    /// How many events are stored for the entity, as loaded.
    fn persisted_events(entity: &Self::Entity) -> usize;
}
