//! Error types returned by generated repositories.
//!
//! `#[derive(EsRepo)]` on a repository of `User` generates a `UserColumn` enum
//! and the aliases `UserCreateError = CreateError<UserColumn>`,
//! `UserModifyError`, `UserFindError` and `UserQueryError`.

use std::fmt;

use crate::bind_limit::ServerLimitExceeded;
use crate::column_types::{ColumnTypeError, ColumnTypeMismatch};
use crate::error::{ConstraintKind, EntityHydrationError};
use crate::nested::NestedError;
use crate::operation::CommitError;
use crate::post_persist::{PostPersistHookError, WriteError};
use crate::sqlx_errors::is_connection_lost;

/// The index-table columns of one entity; generated as `<Entity>Column`.
pub trait EntityColumn:
    Copy + fmt::Debug + fmt::Display + PartialEq + Send + Sync + 'static
{
    /// The entity's id type.
    type EntityId: fmt::Debug + fmt::Display + Clone + Send + Sync + 'static;
    /// The entity's name, used in messages.
    const ENTITY: &'static str;
    /// The column called `name` in the index table, if any.
    fn from_column_name(name: &str) -> Option<Self>;
    /// The column's name in the index table.
    fn column_name(&self) -> &'static str;
}

/// A write broke a constraint of the database.
#[derive(Debug)]
pub struct ConstraintViolation<C> {
    /// Which kind of constraint.
    pub kind: ConstraintKind,
    /// The single column the constraint covers, when it is one of the entity's columns.
    pub column: Option<C>,
    /// The offending value as PostgreSQL reported it, when it did.
    pub value: Option<String>,
    /// The constraint's name.
    pub constraint: Option<String>,
    /// The database error.
    pub source: sqlx::Error,
}

impl<C: EntityColumn> fmt::Display for ConstraintViolation<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} violates a {} constraint", C::ENTITY, self.kind)?;
        if let Some(name) = &self.constraint {
            write!(f, " `{name}`")?;
        }
        match (&self.column, &self.value) {
            (Some(c), Some(v)) => write!(f, " ({} = {v})", c.column_name()),
            (Some(c), None) => write!(f, " (column {})", c.column_name()),
            _ => Ok(()),
        }
    }
}

macro_rules! constraint_helpers {
    ($ty:ident) => {
        impl<C: EntityColumn> $ty<C> {
            /// The constraint violation behind this error, if it is one.
            pub fn constraint_violation(&self) -> Option<&ConstraintViolation<C>> {
                match self {
                    Self::ConstraintViolation(v) => Some(v),
                    _ => None,
                }
            }

            /// Whether the connection failed after the write was sent,
            /// outside a transaction, so that it may or may not be stored.
            pub fn is_outcome_unknown(&self) -> bool {
                matches!(self, Self::OutcomeUnknown(_))
                    || self.nested_error().is_some_and(|n| n.outcome_unknown)
            }

            /// Whether a unique constraint (or primary key) rejected the write.
            pub fn was_duplicate(&self) -> bool {
                self.constraint_violation()
                    .is_some_and(|v| v.kind == ConstraintKind::Unique)
                    || self.nested_error().is_some_and(NestedError::was_duplicate)
            }

            /// Whether a unique constraint on `column` rejected the write.
            pub fn was_duplicate_by(&self, column: C) -> bool {
                self.constraint_violation()
                    .is_some_and(|v| v.kind == ConstraintKind::Unique && v.column == Some(column))
            }

            /// The duplicated value, when a unique constraint rejected the write.
            pub fn duplicate_value(&self) -> Option<&str> {
                match self.nested_error() {
                    Some(n) if n.was_duplicate() => n.value.as_deref(),
                    _ => self
                        .constraint_violation()
                        .filter(|v| v.kind == ConstraintKind::Unique)
                        .and_then(|v| v.value.as_deref()),
                }
            }

            /// The name of the violated constraint.
            pub fn constraint_name(&self) -> Option<&str> {
                match self.nested_error() {
                    Some(n) => n.constraint.as_deref(),
                    None => self
                        .constraint_violation()
                        .and_then(|v| v.constraint.as_deref()),
                }
            }

            /// The failure of the repository's `post_persist_hook`, if that
            /// is what failed the write.
            pub fn post_persist_hook_error(&self) -> Option<&PostPersistHookError> {
                match self {
                    Self::PostPersistHook(e) => Some(e),
                    _ => None,
                }
            }

            /// PostgreSQL's refusal for one of its limits (SQLSTATE class
            /// 54), when that is what failed the write or a nested child's.
            pub fn server_limit_exceeded(&self) -> Option<&ServerLimitExceeded> {
                match self {
                    Self::ServerLimitExceeded(e) => Some(e),
                    _ => self
                        .nested_error()
                        .and_then(in_chain::<ServerLimitExceeded>),
                }
            }

            /// Whether the write (or a nested child's) was refused for its
            /// size: its batch's parameters past the message PostgreSQL
            /// accepts (`BatchTooLarge`, nothing sent), or past one of the
            /// server's limits (`ServerLimitExceeded`: SQLSTATE class 54).
            /// Nothing was stored; a retry as it is fails again: split the
            /// batch or shrink the value.
            pub fn was_too_large(&self) -> bool {
                matches!(self, Self::BatchTooLarge(_))
                    || self.server_limit_exceeded().is_some()
                    || self
                        .nested_error()
                        .and_then(in_chain::<crate::BatchTooLarge>)
                        .is_some()
            }
        }
    };
}

/// The first error of type `T` in `err`'s chain of sources, `err` included:
/// a nested child's typed failure behind a [`NestedError`].
fn in_chain<T: std::error::Error + 'static>(err: &NestedError) -> Option<&T> {
    let first: &(dyn std::error::Error + 'static) = err;
    std::iter::successors(Some(first), |e| e.source()).find_map(|e| e.downcast_ref::<T>())
}

/// Error of `create` / `create_in_op`.
#[derive(Debug)]
#[non_exhaustive]
pub enum CreateError<C: EntityColumn> {
    /// The database failed (connection, I/O, ...).
    Sqlx(sqlx::Error),
    /// A constraint rejected the row; a duplicate id is a duplicate on the id column.
    ConstraintViolation(ConstraintViolation<C>),
    /// The new entity does not hydrate from its own events, or an event
    /// would not read back. Checked before the write: nothing was stored.
    HydrationError(EntityHydrationError),
    /// `create_all`: the batch's parameters would not fit the one message
    /// PostgreSQL accepts for them (about 1 GB). Nothing was sent.
    BatchTooLarge(crate::BatchTooLarge),
    /// PostgreSQL refused the write for one of its limits (SQLSTATE class
    /// 54: an event's string of 256 MiB or more, a column value too large
    /// for its index, ...). Nothing was stored and the connection is
    /// usable; inside a caller's transaction (`*_in_op`) PostgreSQL aborted
    /// it with the statement: roll it back. Split the batch or shrink the
    /// value; a retry as it is fails again.
    ServerLimitExceeded(crate::ServerLimitExceeded),
    /// Declared column types that do not fit the index table, found by the
    /// first-use check (types sqlx cannot check at compile time). Nothing
    /// was stored.
    ColumnTypeMismatch(Vec<ColumnTypeMismatch>),
    /// The connection failed after the statement was sent, outside a
    /// transaction: the entity may or may not have been stored. Never
    /// retried blindly; look it up by id to know.
    OutcomeUnknown(sqlx::Error),
    /// The repository's `post_persist_hook` failed after the write's
    /// statement. `create` rolled its transaction back: nothing was stored.
    /// Inside a caller's transaction (`create_in_op`) the write is still in
    /// it: roll it back (dropping the operation does).
    PostPersistHook(PostPersistHookError),
    /// `create_or_find`: the new entity's keys (its id and `unique`
    /// columns) are held by several existing entities, named here; nothing
    /// was stored.
    KeysSpanEntities {
        /// The entities holding one key or another.
        entity_ids: Vec<String>,
    },
    /// `create_or_find`: the entity holding the new entity's keys is
    /// soft-deleted; nothing was stored.
    KeyHeldByDeleted {
        /// The deleted entity.
        entity_id: String,
    },
    /// Writing the entity's nested children failed (a child repository's
    /// `create_all` or `update_all`); the transaction was rolled back (pool
    /// variants) or must be (`*_in_op`). The helpers (`was_duplicate()`,
    /// `constraint_name()`, ...) see through it.
    Nested(Box<NestedError>),
}
constraint_helpers!(CreateError);

impl<C: EntityColumn> CreateError<C> {
    /// The failure of a nested child's write, if that is what failed.
    pub fn nested_error(&self) -> Option<&NestedError> {
        match self {
            Self::Nested(n) => Some(&**n),
            _ => None,
        }
    }
}

/// Error of `update` / `update_in_op`.
#[derive(Debug)]
#[non_exhaustive]
pub enum ModifyError<C: EntityColumn> {
    /// The database failed (connection, I/O, ...).
    Sqlx(sqlx::Error),
    /// A constraint rejected the new column values.
    ConstraintViolation(ConstraintViolation<C>),
    /// The stream was not at the version the write expected: another writer
    /// appended events first (or the entity was loaded at another version
    /// than an `ExpectedVersion::Exact` named). Nothing was written; reload
    /// the entity and retry.
    ConcurrentModification {
        /// The entity that was written concurrently.
        entity_id: C::EntityId,
        /// The sequence this writer tried to write next:
        /// `expected_version + 1`.
        expected_sequence: usize,
        /// The version (number of events) the writer expected the stream to
        /// be at: the version the entity was loaded at for `update`, `n` for
        /// `ExpectedVersion::Exact(n)`, 0 for `NoStream`.
        expected_version: usize,
        /// The version the stream actually had, when it can be known without
        /// guessing. The pool variants (`update`, `update_all`, ...) read it
        /// right after the failure, so it is at least the version that made
        /// the write fail (another writer may have added more since).
        /// `None` inside a caller's transaction, which PostgreSQL aborted
        /// with the failed statement, or when that read failed.
        actual_version: Option<usize>,
    },
    /// The entity's index row no longer exists.
    EntityNotFound {
        /// The entity that was looked for.
        entity_id: C::EntityId,
    },
    /// `update_all` was given two copies of this entity, both with new
    /// events: they cannot both be applied. Nothing was stored.
    DuplicateEntity {
        /// The entity that appears more than once.
        entity_id: C::EntityId,
    },
    /// A new event would not read back as itself (its JSON does not parse
    /// into the event type, or parses into another variant). Checked before
    /// the write: nothing was stored.
    HydrationError(EntityHydrationError),
    /// `update_all`: the batch's parameters would not fit the one message
    /// PostgreSQL accepts for them (about 1 GB). Nothing was sent.
    BatchTooLarge(crate::BatchTooLarge),
    /// PostgreSQL refused the write for one of its limits (SQLSTATE class
    /// 54: a new event's string of 256 MiB or more, a column value too
    /// large for its index, ...). Nothing was stored and the connection is
    /// usable; the entities keep their new events unpersisted. Inside a
    /// caller's transaction (`*_in_op`) PostgreSQL aborted it with the
    /// statement: roll it back. Split the batch or shrink the value; a
    /// retry as it is fails again.
    ServerLimitExceeded(crate::ServerLimitExceeded),
    /// Declared column types that do not fit the index table, found by the
    /// first-use check (types sqlx cannot check at compile time). Nothing
    /// was stored.
    ColumnTypeMismatch(Vec<ColumnTypeMismatch>),
    /// The connection failed after the statement was sent, outside a
    /// transaction: the events may or may not have been stored. Not a
    /// transient error: retrying could apply the command twice. Reload the
    /// entity and run the command again; an idempotent command (see
    /// `idempotency_guard!`) then sees its own event if it was stored.
    OutcomeUnknown(sqlx::Error),
    /// The repository's `post_persist_hook` failed after the write's
    /// statement. The pool variants rolled their transaction back: nothing
    /// was stored. Inside a caller's transaction (`*_in_op`) the write is
    /// still in it: roll it back (dropping the operation does). Either way
    /// the entity's events are new again, as before the call.
    PostPersistHook(PostPersistHookError),
    /// A write without a version check (`ExpectedVersion::StreamExists` or
    /// `Any`) found the sequence it computed for this entity taken: another
    /// writer appended without holding the entity's index row lock. As
    /// [`UncheckedModifyError::LockBypassed`]; nothing was written.
    LockBypassed {
        /// The entity whose stream was appended to without the lock.
        entity_id: C::EntityId,
    },
    /// Writing the entity's nested children failed (a child repository's
    /// `create_all` or `update_all`); the transaction was rolled back (pool
    /// variants) or must be (`*_in_op`). The helpers
    /// (`is_concurrent_modification()`, `was_duplicate()`, ...) see through it.
    Nested(Box<NestedError>),
}
constraint_helpers!(ModifyError);

impl<C: EntityColumn> ModifyError<C> {
    /// Whether the write lost an optimistic-concurrency race, its own or a
    /// nested child's.
    pub fn is_concurrent_modification(&self) -> bool {
        matches!(self, Self::ConcurrentModification { .. })
            || self
                .nested_error()
                .is_some_and(NestedError::is_concurrent_modification)
    }

    /// The failure of a nested child's write, if that is what failed.
    pub fn nested_error(&self) -> Option<&NestedError> {
        match self {
            Self::Nested(n) => Some(&**n),
            _ => None,
        }
    }

    /// A conflict for `entity_id` expecting `expected_version`, the actual
    /// version not (yet) known.
    pub(crate) fn conflict(entity_id: C::EntityId, expected_version: usize) -> Self {
        Self::ConcurrentModification {
            entity_id,
            expected_sequence: expected_version + 1,
            expected_version,
            actual_version: None,
        }
    }

    /// For a lost race, the version the writer expected and the one the
    /// stream had (when known); `None` for any other error.
    pub fn conflict_versions(&self) -> Option<(usize, Option<usize>)> {
        match self {
            Self::ConcurrentModification {
                expected_version,
                actual_version,
                ..
            } => Some((*expected_version, *actual_version)),
            _ => None,
        }
    }
}

/// Error of `update_unchecked` / `update_unchecked_in_op` (last writer
/// wins). It has no conflict variant: such a write appends after whatever
/// the stream holds and cannot lose a race.
///
/// ```compile_fail,E0599
/// # use es_entity::*;
/// # #[derive(Clone, Copy, Debug, PartialEq)]
/// # struct Col;
/// # impl std::fmt::Display for Col {
/// #     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("id") }
/// # }
/// # impl EntityColumn for Col {
/// #     type EntityId = String;
/// #     const ENTITY: &'static str = "Note";
/// #     fn from_column_name(_: &str) -> Option<Self> { None }
/// #     fn column_name(&self) -> &'static str { "id" }
/// # }
/// fn lost_race(err: &UncheckedModifyError<Col>) -> bool {
///     matches!(err, UncheckedModifyError::ConcurrentModification { .. }) // no such variant
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum UncheckedModifyError<C: EntityColumn> {
    /// The database failed (connection, I/O, ...).
    Sqlx(sqlx::Error),
    /// A constraint rejected the new column values.
    ConstraintViolation(ConstraintViolation<C>),
    /// The entity's index row does not exist.
    EntityNotFound {
        /// The entity that was looked for.
        entity_id: C::EntityId,
    },
    /// A new event would not read back as itself. Checked before the
    /// write: nothing was stored.
    HydrationError(EntityHydrationError),
    /// The events were stored, but the entity's history with the events it
    /// had missed does not hydrate (or does not continue its loaded
    /// events), so the in-memory entity could not be rebuilt: its events
    /// are all marked stored, its other fields are stale. Reload it.
    RefreshFailed(EntityHydrationError),
    /// Declared column types that do not fit the index table, found by the
    /// first-use check. Nothing was stored.
    ColumnTypeMismatch(Vec<ColumnTypeMismatch>),
    /// The connection failed after the statement was sent, outside a
    /// transaction: the events may or may not have been stored. Reload.
    OutcomeUnknown(sqlx::Error),
    /// The repository's `post_persist_hook` failed after the write's
    /// statement; as [`ModifyError::PostPersistHook`].
    PostPersistHook(PostPersistHookError),
    /// The sequence this write computed for its first new event, after the
    /// stream's version read under the entity's index row lock, was taken:
    /// another writer appended to the stream without holding that lock
    /// (every write of a repository takes it; SQL of your own, or another
    /// program writing the tables, may not). Nothing was written. Not a
    /// lost race to retry blindly: find the writer that bypasses the lock.
    LockBypassed {
        /// The entity whose stream was appended to without the lock.
        entity_id: C::EntityId,
    },
    /// `update_all_unchecked` was given two copies of this entity, both
    /// with new events. Nothing was stored.
    DuplicateEntity {
        /// The entity that appears more than once.
        entity_id: C::EntityId,
    },
    /// A batch's parameters would not fit the one message PostgreSQL
    /// accepts for them (about 1 GB). Nothing was sent.
    BatchTooLarge(crate::BatchTooLarge),
    /// PostgreSQL refused the write for one of its limits (SQLSTATE class
    /// 54); as [`ModifyError::ServerLimitExceeded`]. Nothing was stored.
    ServerLimitExceeded(crate::ServerLimitExceeded),
    /// The write of one of the entity's nested children failed (a parent
    /// repository writes its children as `update` does, each child's own
    /// version checked); as [`ModifyError::Nested`].
    Nested(Box<NestedError>),
}
constraint_helpers!(UncheckedModifyError);

impl<C: EntityColumn> UncheckedModifyError<C> {
    /// The failure of a nested child's write, when that is what failed.
    pub fn nested_error(&self) -> Option<&NestedError> {
        match self {
            Self::Nested(n) => Some(&**n),
            _ => None,
        }
    }
}

impl<C: EntityColumn> UncheckedModifyError<C> {
    /// Whether the entity's index row does not exist.
    pub fn was_not_found(&self) -> bool {
        matches!(self, Self::EntityNotFound { .. })
    }
}

impl<C: EntityColumn> From<UncheckedModifyError<C>> for ModifyError<C> {
    /// `update_expecting` with `StreamExists` or `Any` writes unchecked;
    /// its errors are a subset of `ModifyError`'s (a failed refresh is a
    /// `HydrationError`).
    fn from(e: UncheckedModifyError<C>) -> Self {
        match e {
            UncheckedModifyError::Sqlx(e) => Self::Sqlx(e),
            UncheckedModifyError::ConstraintViolation(v) => Self::ConstraintViolation(v),
            UncheckedModifyError::EntityNotFound { entity_id } => {
                Self::EntityNotFound { entity_id }
            }
            UncheckedModifyError::HydrationError(e) | UncheckedModifyError::RefreshFailed(e) => {
                Self::HydrationError(e)
            }
            UncheckedModifyError::ColumnTypeMismatch(m) => Self::ColumnTypeMismatch(m),
            UncheckedModifyError::OutcomeUnknown(e) => Self::OutcomeUnknown(e),
            UncheckedModifyError::PostPersistHook(e) => Self::PostPersistHook(e),
            UncheckedModifyError::LockBypassed { entity_id } => Self::LockBypassed { entity_id },
            UncheckedModifyError::DuplicateEntity { entity_id } => {
                Self::DuplicateEntity { entity_id }
            }
            UncheckedModifyError::BatchTooLarge(e) => Self::BatchTooLarge(e),
            UncheckedModifyError::ServerLimitExceeded(e) => Self::ServerLimitExceeded(e),
            UncheckedModifyError::Nested(n) => Self::Nested(n),
        }
    }
}

/// What the mixed batch writer (`update_all_expecting`,
/// `update_all_unchecked`) fails with, before it is turned into the
/// method's error: a [`ModifyError`], or the events stored but an
/// unchecked entity's refresh failed.
#[doc(hidden)]
#[derive(Debug)]
pub enum BatchWriteError<C: EntityColumn> {
    Modify(ModifyError<C>),
    RefreshFailed(EntityHydrationError),
}

impl<C: EntityColumn> From<ModifyError<C>> for BatchWriteError<C> {
    fn from(e: ModifyError<C>) -> Self {
        Self::Modify(e)
    }
}

impl<C: EntityColumn> From<sqlx::Error> for BatchWriteError<C> {
    fn from(e: sqlx::Error) -> Self {
        Self::Modify(ModifyError::Sqlx(e))
    }
}

impl<C: EntityColumn> From<EntityHydrationError> for BatchWriteError<C> {
    fn from(e: EntityHydrationError) -> Self {
        Self::Modify(ModifyError::HydrationError(e))
    }
}

impl<C: EntityColumn> From<ColumnTypeError> for BatchWriteError<C> {
    fn from(e: ColumnTypeError) -> Self {
        Self::Modify(e.into())
    }
}

impl<C: EntityColumn> From<BatchWriteError<C>> for ModifyError<C> {
    /// A failed refresh is a `HydrationError`, as for `update_expecting`.
    fn from(e: BatchWriteError<C>) -> Self {
        match e {
            BatchWriteError::Modify(e) => e,
            BatchWriteError::RefreshFailed(e) => Self::HydrationError(e),
        }
    }
}

impl<C: EntityColumn> From<BatchWriteError<C>> for UncheckedModifyError<C> {
    /// A batch without checked entities: a taken sequence can only be a
    /// writer that bypassed the lock.
    fn from(e: BatchWriteError<C>) -> Self {
        match e {
            BatchWriteError::RefreshFailed(e) => Self::RefreshFailed(e),
            BatchWriteError::Modify(e) => match e {
                ModifyError::Sqlx(e) => Self::Sqlx(e),
                ModifyError::ConstraintViolation(v) => Self::ConstraintViolation(v),
                ModifyError::ConcurrentModification { entity_id, .. }
                | ModifyError::LockBypassed { entity_id } => Self::LockBypassed { entity_id },
                ModifyError::EntityNotFound { entity_id } => Self::EntityNotFound { entity_id },
                ModifyError::DuplicateEntity { entity_id } => Self::DuplicateEntity { entity_id },
                ModifyError::HydrationError(e) => Self::HydrationError(e),
                ModifyError::ColumnTypeMismatch(m) => Self::ColumnTypeMismatch(m),
                ModifyError::OutcomeUnknown(e) => Self::OutcomeUnknown(e),
                ModifyError::PostPersistHook(e) => Self::PostPersistHook(e),
                ModifyError::BatchTooLarge(e) => Self::BatchTooLarge(e),
                ModifyError::ServerLimitExceeded(e) => Self::ServerLimitExceeded(e),
                ModifyError::Nested(n) => Self::Nested(n),
            },
        }
    }
}

/// Error of `find_by_*`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FindError<C: EntityColumn> {
    /// The database failed.
    #[error("finding {entity}: {0}", entity = C::ENTITY)]
    Sqlx(#[from] sqlx::Error),
    /// No entity has that value.
    #[error("{entity} with {col} = {value} not found", col = .column.column_name())]
    NotFound {
        /// The entity type.
        entity: &'static str,
        /// The column searched.
        column: C,
        /// The value searched for (its `Debug` form).
        value: String,
    },
    /// Several entities have that value, so none is returned.
    #[error("several {entity} entities have {col} = {value}", entity = C::ENTITY, col = .column.column_name())]
    MultipleFound {
        /// The column searched.
        column: C,
        /// The value searched for (its `Debug` form).
        value: String,
    },
    /// The stored events do not hydrate.
    #[error("finding {entity}: {0}", entity = C::ENTITY)]
    HydrationError(#[from] EntityHydrationError),
}

impl<C: EntityColumn> FindError<C> {
    /// Whether nothing was found.
    pub fn was_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}

// Checks by kind of failure, named as in es-entity 0.12 (`was_*`), so code
// ported from there keeps compiling. The kinds come from the SQLSTATE
// (23505 unique, 23503 foreign key, 23514 check), never from message text.
macro_rules! violation_kind_helpers {
    ($ty:ident) => {
        impl<C: EntityColumn> $ty<C> {
            /// Whether a foreign key rejected the write (SQLSTATE 23503): a
            /// column refers to a row that does not exist.
            pub fn was_foreign_key_violation(&self) -> bool {
                self.constraint_violation()
                    .is_some_and(|v| v.kind == ConstraintKind::ForeignKey)
            }

            /// Whether a `CHECK` constraint rejected the write (SQLSTATE 23514).
            pub fn was_check_violation(&self) -> bool {
                self.constraint_violation()
                    .is_some_and(|v| v.kind == ConstraintKind::Check)
            }
        }
    };
}
violation_kind_helpers!(CreateError);
violation_kind_helpers!(ModifyError);
violation_kind_helpers!(UncheckedModifyError);

impl<C: EntityColumn> ModifyError<C> {
    /// Whether the write lost an optimistic-concurrency race (the same as
    /// [`is_concurrent_modification`](Self::is_concurrent_modification)):
    /// another writer stored the entity's next event first. Load the entity
    /// again and rerun the command; see
    /// [`retry_on_concurrent_modification`](fn@crate::retry_on_concurrent_modification).
    pub fn was_concurrent_modification(&self) -> bool {
        self.is_concurrent_modification()
    }

    /// Whether the entity's index row no longer exists
    /// ([`ModifyError::EntityNotFound`]).
    pub fn was_not_found(&self) -> bool {
        matches!(self, Self::EntityNotFound { .. })
    }
}

/// Error of queries that may return nothing or many (`maybe_find_by_*`,
/// listings, `find_all`, `es_query!`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError<C: EntityColumn> {
    /// The database failed.
    #[error("querying {entity}: {0}", entity = C::ENTITY)]
    Sqlx(#[from] sqlx::Error),
    /// A listing got a cursor made for another order.
    #[error("listing {entity} by {expected} got a cursor for listing by {found}", entity = C::ENTITY)]
    CursorMismatch {
        /// The order the listing uses.
        expected: &'static str,
        /// The order the cursor was made for.
        found: &'static str,
    },
    /// Several entities match a lookup that expects at most one.
    #[error("several {entity} entities have {col} = {value}", entity = C::ENTITY, col = .column.column_name())]
    MultipleFound {
        /// The column searched.
        column: C,
        /// The value searched for (its `Debug` form).
        value: String,
    },
    /// The stored events do not hydrate.
    #[error("querying {entity}: {0}", entity = C::ENTITY)]
    HydrationError(#[from] EntityHydrationError),
}

impl<C: EntityColumn> fmt::Display for CreateError<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlx(e) => write!(f, "creating {}: {e}", C::ENTITY),
            Self::ConstraintViolation(v) => write!(f, "creating {}: {v}", C::ENTITY),
            Self::HydrationError(e) => write!(f, "creating {}: {e}", C::ENTITY),
            Self::BatchTooLarge(e) => write!(f, "creating {}: {e}", C::ENTITY),
            Self::ServerLimitExceeded(e) => write!(f, "creating {}: {e}", C::ENTITY),
            Self::ColumnTypeMismatch(m) => {
                write!(f, "creating {}: {}", C::ENTITY, list_mismatches(m))
            }
            Self::OutcomeUnknown(e) => write!(
                f,
                "creating {}: the connection failed after the write was sent, so it may or may not be stored: {e}",
                C::ENTITY
            ),
            Self::PostPersistHook(e) => write!(f, "creating {}: {e}", C::ENTITY),
            Self::KeysSpanEntities { entity_ids } => write!(
                f,
                "create or find {}: its keys are held by different entities: {}",
                C::ENTITY,
                entity_ids.join(", ")
            ),
            Self::KeyHeldByDeleted { entity_id } => write!(
                f,
                "create or find {}: its keys are held by the deleted entity {entity_id}",
                C::ENTITY
            ),
            Self::Nested(n) => write!(f, "creating {}: {n}", C::ENTITY),
        }
    }
}

impl<C: EntityColumn> fmt::Display for ModifyError<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlx(e) => write!(f, "updating {}: {e}", C::ENTITY),
            Self::ConstraintViolation(v) => write!(f, "updating {}: {v}", C::ENTITY),
            Self::ConcurrentModification {
                entity_id,
                expected_version,
                actual_version,
                ..
            } => {
                write!(
                    f,
                    "{} {entity_id} was modified concurrently: expected version {expected_version}",
                    C::ENTITY
                )?;
                match actual_version {
                    Some(actual) => write!(f, ", found {actual}"),
                    None => Ok(()),
                }
            }
            Self::EntityNotFound { entity_id } => {
                write!(
                    f,
                    "updating {} {entity_id}: its index row does not exist",
                    C::ENTITY
                )
            }
            Self::DuplicateEntity { entity_id } => write!(
                f,
                "updating {} {entity_id}: it appears more than once in the batch",
                C::ENTITY
            ),
            Self::HydrationError(e) => write!(f, "updating {}: {e}", C::ENTITY),
            Self::BatchTooLarge(e) => write!(f, "updating {}: {e}", C::ENTITY),
            Self::ServerLimitExceeded(e) => write!(f, "updating {}: {e}", C::ENTITY),
            Self::ColumnTypeMismatch(m) => {
                write!(f, "updating {}: {}", C::ENTITY, list_mismatches(m))
            }
            Self::OutcomeUnknown(e) => write!(
                f,
                "updating {}: the connection failed after the write was sent, so it may or may not be stored: {e}",
                C::ENTITY
            ),
            Self::PostPersistHook(e) => write!(f, "updating {}: {e}", C::ENTITY),
            Self::LockBypassed { entity_id } => write!(
                f,
                "updating {} {entity_id}: another writer appended to its stream without holding its index row lock, so the sequence this write computed was taken; nothing was written",
                C::ENTITY
            ),
            Self::Nested(n) => write!(f, "updating {}: {n}", C::ENTITY),
        }
    }
}

impl<C: EntityColumn> fmt::Display for UncheckedModifyError<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlx(e) => write!(f, "updating {} unchecked: {e}", C::ENTITY),
            Self::BatchTooLarge(e) => write!(f, "updating {} unchecked: {e}", C::ENTITY),
            Self::ServerLimitExceeded(e) => write!(f, "updating {} unchecked: {e}", C::ENTITY),
            Self::ConstraintViolation(v) => write!(f, "updating {} unchecked: {v}", C::ENTITY),
            Self::EntityNotFound { entity_id } => write!(
                f,
                "updating {} {entity_id} unchecked: its index row does not exist",
                C::ENTITY
            ),
            Self::HydrationError(e) => write!(f, "updating {} unchecked: {e}", C::ENTITY),
            Self::RefreshFailed(e) => write!(
                f,
                "updating {} unchecked: the events were stored, but the entity could not be rebuilt with the events it had missed: {e}",
                C::ENTITY
            ),
            Self::OutcomeUnknown(e) => write!(
                f,
                "updating {} unchecked: the connection failed after the write was sent, so it may or may not be stored: {e}",
                C::ENTITY
            ),
            Self::ColumnTypeMismatch(m) => {
                write!(
                    f,
                    "updating {} unchecked: {}",
                    C::ENTITY,
                    list_mismatches(m)
                )
            }
            Self::PostPersistHook(e) => write!(f, "updating {} unchecked: {e}", C::ENTITY),
            Self::LockBypassed { entity_id } => write!(
                f,
                "updating {} {entity_id}: another writer appended to its stream without holding its index row lock, so the sequence this write computed was taken; nothing was written",
                C::ENTITY
            ),
            Self::DuplicateEntity { entity_id } => write!(
                f,
                "updating {} unchecked: the batch holds {entity_id} twice with new events; nothing was stored",
                C::ENTITY
            ),
            Self::Nested(n) => write!(f, "updating {} unchecked: {n}", C::ENTITY),
        }
    }
}

macro_rules! from_sqlx {
    ($($ty:ident),*) => {$(
        impl<C: EntityColumn> From<sqlx::Error> for $ty<C> {
            fn from(e: sqlx::Error) -> Self {
                Self::Sqlx(e)
            }
        }
    )*};
}
from_sqlx!(CreateError, ModifyError, UncheckedModifyError);

impl<C: EntityColumn> From<EntityHydrationError> for CreateError<C> {
    fn from(e: EntityHydrationError) -> Self {
        Self::HydrationError(e)
    }
}

impl<C: EntityColumn> From<EntityHydrationError> for ModifyError<C> {
    fn from(e: EntityHydrationError) -> Self {
        Self::HydrationError(e)
    }
}

impl<C: EntityColumn> From<EntityHydrationError> for UncheckedModifyError<C> {
    fn from(e: EntityHydrationError) -> Self {
        Self::HydrationError(e)
    }
}

impl<C: EntityColumn> std::error::Error for CreateError<C> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Sqlx(e) => Some(e),
            Self::ConstraintViolation(v) => Some(&v.source),
            Self::HydrationError(e) => Some(e),
            Self::BatchTooLarge(e) => Some(e),
            Self::ServerLimitExceeded(e) => Some(e),
            Self::ColumnTypeMismatch(_) => None,
            Self::OutcomeUnknown(e) => Some(e),
            Self::PostPersistHook(e) => Some(e),
            Self::KeysSpanEntities { .. } | Self::KeyHeldByDeleted { .. } => None,
            Self::Nested(n) => Some(&**n),
        }
    }
}

fn list_mismatches(m: &[ColumnTypeMismatch]) -> String {
    ColumnTypeError::Mismatch(m.to_vec()).to_string()
}

macro_rules! from_column_check {
    ($($ty:ident),*) => {$(
        impl<C: EntityColumn> From<ColumnTypeError> for $ty<C> {
            fn from(e: ColumnTypeError) -> Self {
                match e {
                    ColumnTypeError::Sqlx(e) => Self::Sqlx(e),
                    ColumnTypeError::Mismatch(m) => Self::ColumnTypeMismatch(m),
                }
            }
        }
    )*};
}
from_column_check!(CreateError, ModifyError, UncheckedModifyError);

impl<C: EntityColumn> std::error::Error for ModifyError<C> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Sqlx(e) | Self::OutcomeUnknown(e) => Some(e),
            Self::ConstraintViolation(v) => Some(&v.source),
            Self::HydrationError(e) => Some(e),
            Self::BatchTooLarge(e) => Some(e),
            Self::ServerLimitExceeded(e) => Some(e),
            Self::PostPersistHook(e) => Some(e),
            Self::Nested(n) => Some(&**n),
            _ => None,
        }
    }
}

impl<C: EntityColumn> std::error::Error for UncheckedModifyError<C> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Sqlx(e) | Self::OutcomeUnknown(e) => Some(e),
            Self::ConstraintViolation(v) => Some(&v.source),
            Self::HydrationError(e) | Self::RefreshFailed(e) => Some(e),
            Self::PostPersistHook(e) => Some(e),
            Self::BatchTooLarge(e) => Some(e),
            Self::ServerLimitExceeded(e) => Some(e),
            Self::Nested(n) => Some(&**n),
            _ => None,
        }
    }
}

/// A lost race of a write expecting `entity_id` at `expected_version`, the
/// actual version not (yet) known: what a generated `expect_version` check
/// returns.
pub fn modify_conflict<C: EntityColumn>(
    entity_id: C::EntityId,
    expected_version: usize,
) -> ModifyError<C> {
    ModifyError::conflict(entity_id, expected_version)
}

macro_rules! commit_errors {
    ($($ty:ident),*) => {$(
        impl<C: EntityColumn> WriteError for $ty<C> {
            fn commit_failed(err: CommitError) -> Self {
                match err {
                    CommitError::Sqlx(err) if is_connection_lost(&err) => Self::OutcomeUnknown(err),
                    CommitError::Sqlx(err) => Self::Sqlx(err),
                    CommitError::PreCommitHook { hook, .. } => {
                        Self::PostPersistHook(PostPersistHookError::new(hook, err))
                    }
                }
            }
        }

        /// So `op.commit().await?` works in a function returning this error:
        /// a failed `COMMIT` is `Sqlx` (`OutcomeUnknown` when the connection
        /// was lost), a failing pre-commit hook is `PostPersistHook`.
        impl<C: EntityColumn> From<CommitError> for $ty<C> {
            fn from(err: CommitError) -> Self {
                <Self as WriteError>::commit_failed(err)
            }
        }
    )*};
}
commit_errors!(CreateError, ModifyError, UncheckedModifyError);
