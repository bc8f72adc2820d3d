//! [`CreateOrFind`]: what a generated `create_or_find` did.

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
