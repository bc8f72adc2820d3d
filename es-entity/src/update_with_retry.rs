//! What the generated `update_with_retry` takes and returns: [`CommandOutcome`]
//! (what the command may return) and [`UpdateWithRetryError`].

use std::convert::Infallible;

use crate::idempotent::Idempotent;
use crate::repo_error::{EntityColumn, FindError, ModifyError};
use crate::retry::{Conflict, RetryableError};
use crate::sqlx_errors::is_transient_sqlx;

#[diagnostic::on_unimplemented(
    message = "`{Self}` is not something a command passed to `update_with_retry` can return",
    label = "the command returns `{Self}`",
    note = "a command returns `Result<T, E>`, `Idempotent<T>` or `()`"
)]
/// What a command passed to a repository's `update_with_retry` returns:
///
/// - `Result<T, E>`: `Ok(value)` is saved and returned, `Err(e)` is returned
///   as [`UpdateWithRetryError::Command`] without saving or retrying. So is
///   `Result<Idempotent<T>, E>`, a fallible idempotent command.
/// - `Idempotent<T>`: an infallible idempotent command; `AlreadyApplied`
///   pushed no event, so the save sends nothing.
/// - `()`: a command that cannot fail.
///
/// ```
/// use es_entity::{CommandOutcome, Idempotent};
/// assert_eq!(Ok::<u8, ()>(1).into_result(), Ok(1));
/// assert_eq!(Idempotent::Executed(2).into_result(), Ok(Idempotent::Executed(2)));
/// assert_eq!(().into_result(), Ok(()));
/// ```
pub trait CommandOutcome {
    /// What `update_with_retry` returns (in [`Retried::value`](crate::Retried)) when the save succeeds.
    type Value;
    /// The command's own error; [`Infallible`] when it cannot fail.
    type Error;
    /// The outcome as a `Result`.
    fn into_result(self) -> Result<Self::Value, Self::Error>;
}

impl<T, E> CommandOutcome for Result<T, E> {
    type Value = T;
    type Error = E;
    fn into_result(self) -> Result<T, E> {
        self
    }
}

impl<T> CommandOutcome for Idempotent<T> {
    type Value = Idempotent<T>;
    type Error = Infallible;
    fn into_result(self) -> Result<Idempotent<T>, Infallible> {
        Ok(self)
    }
}

impl CommandOutcome for () {
    type Value = ();
    type Error = Infallible;
    fn into_result(self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// Error of a repository's `update_with_retry`: which step failed, with the
/// step's own error. `E` is the command's error type, `C` the entity's
/// column enum (so `UpdateWithRetryError<MyError, AccountColumn>`).
///
/// Display and `source` are the inner error's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateWithRetryError<E, C: EntityColumn> {
    /// The command refused. Returned as it is, never retried; nothing was saved.
    #[error(transparent)]
    Command(E),
    /// Loading the entity failed: not found, a database error, or events
    /// that do not hydrate. Retried only when it is transient and the policy
    /// opts in to transient errors.
    #[error(transparent)]
    Load(#[from] FindError<C>),
    /// Saving failed. A `ConcurrentModification` here means the policy's
    /// attempts were used up by lost races.
    #[error(transparent)]
    Save(#[from] ModifyError<C>),
}

impl<E, C: EntityColumn> UpdateWithRetryError<E, C> {
    /// The command's own error, if the command refused.
    pub fn command_error(&self) -> Option<&E> {
        match self {
            Self::Command(e) => Some(e),
            _ => None,
        }
    }

    /// The command's own error, by value, if the command refused.
    pub fn into_command_error(self) -> Option<E> {
        match self {
            Self::Command(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the last attempt lost an optimistic-concurrency race (so the
    /// policy's attempts ran out).
    pub fn was_concurrent_modification(&self) -> bool {
        matches!(self, Self::Save(e) if e.was_concurrent_modification())
    }

    /// Whether the entity does not exist: the load found nothing, or its
    /// index row vanished before the save.
    pub fn was_not_found(&self) -> bool {
        match self {
            Self::Load(e) => e.was_not_found(),
            Self::Save(e) => e.was_not_found(),
            Self::Command(_) => false,
        }
    }

    /// Whether a unique constraint rejected the save.
    pub fn was_duplicate(&self) -> bool {
        matches!(self, Self::Save(e) if e.was_duplicate())
    }

    /// Whether a foreign key rejected the save.
    pub fn was_foreign_key_violation(&self) -> bool {
        matches!(self, Self::Save(e) if e.was_foreign_key_violation())
    }

    /// Whether a `CHECK` constraint rejected the save.
    pub fn was_check_violation(&self) -> bool {
        matches!(self, Self::Save(e) if e.was_check_violation())
    }
}

impl<E, C: EntityColumn> RetryableError for UpdateWithRetryError<E, C> {
    fn concurrent_modification(&self) -> Option<Conflict> {
        match self {
            Self::Save(e) => e.concurrent_modification(),
            _ => None,
        }
    }

    fn is_transient(&self) -> bool {
        match self {
            Self::Load(FindError::Sqlx(e)) => is_transient_sqlx(e),
            Self::Save(e) => e.is_transient(),
            _ => false,
        }
    }
}
