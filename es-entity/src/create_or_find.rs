//! [`CreateOrFind`]: what a generated `create_or_find` did, and how it
//! sorts out who holds the new entity's keys after a conflict.

use crate::repo_error::{CreateError, EntityColumn, FindError};

/// The outcome of a repository's `create_or_find`: the new entity was
/// stored, or an existing one already held its id or `unique` column
/// values and was loaded instead (the new one was not stored).
///
/// ```
/// use es_entity::CreateOrFind;
/// let outcome = CreateOrFind::Found("existing");
/// assert!(!outcome.was_created());
/// assert_eq!(outcome.into_entity(), "existing");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum CreateOrFind<T> {
    /// The new entity was stored.
    Created(T),
    /// An existing entity holds the new one's keys; this is it.
    Found(T),
}

impl<T> CreateOrFind<T> {
    /// Whether the new entity was stored.
    pub fn was_created(&self) -> bool {
        matches!(self, Self::Created(_))
    }

    /// The entity, created or found.
    pub fn entity(&self) -> &T {
        match self {
            Self::Created(e) | Self::Found(e) => e,
        }
    }

    /// The entity, created or found.
    pub fn into_entity(self) -> T {
        match self {
            Self::Created(e) | Self::Found(e) => e,
        }
    }
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
pub fn key_holders<Id: ToString + PartialEq, C: EntityColumn>(
    mut ids: Vec<Id>,
) -> Result<KeyHolders<Id>, CreateError<C>> {
    ids.dedup();
    match ids.len() {
        0 => Ok(KeyHolders::Nobody),
        1 => Ok(KeyHolders::One(ids.remove(0))),
        _ => Err(CreateError::KeysSpanEntities {
            entity_ids: ids.iter().map(ToString::to_string).collect(),
        }),
    }
}

/// The holder `create_or_find` loaded, or why it could not: a soft-deleted
/// holder is not found by a plain load.
pub fn found_holder<T, C: EntityColumn>(
    loaded: Result<T, FindError<C>>,
    id: &impl ToString,
) -> Result<CreateOrFind<T>, CreateError<C>> {
    match loaded {
        Ok(entity) => Ok(CreateOrFind::Found(entity)),
        Err(FindError::NotFound { .. }) => Err(CreateError::KeyHeldByDeleted {
            entity_id: id.to_string(),
        }),
        Err(FindError::Sqlx(e)) => Err(CreateError::Sqlx(e)),
        Err(FindError::HydrationError(e)) => Err(CreateError::HydrationError(e)),
        Err(e @ FindError::MultipleFound { .. }) => Err(CreateError::Sqlx(sqlx::Error::Protocol(
            format!("loading the holder of the keys: {e}"),
        ))),
    }
}
