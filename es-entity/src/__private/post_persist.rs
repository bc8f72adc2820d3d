//! Helpers of the writes of a repository with a `post_persist_hook`.
//!
//! Such a repository's pool variants (`create`, `update`, ...) open a
//! transaction on the connection they acquire ([`begin_write`]), run their
//! `_in_op` variant in it (the write's statement, then the hook), and commit
//! or roll back ([`finish_write`]). Repositories without a hook do none of
//! this: their pool variants send the write's statement alone.

use std::error::Error as StdError;

use sqlx::PgConnection;

use crate::classify::is_connection_lost;
use crate::commit_hooks::CommitError;
use crate::operation::DbOp;
use crate::post_persist::PostPersistHookError;
use crate::repo_error::{CreateError, EntityColumn, ModifyError, UncheckedModifyError};
use crate::traits::EsEntity;

/// What a post-persist hook may fail with: any error type that can be
/// boxed into a [`PostPersistHookError`] and downcast back.
#[diagnostic::on_unimplemented(
    message = "a post-persist hook's error type must implement `std::error::Error + Send + Sync + 'static`; `{Self}` does not",
    label = "the hook's error type is `{Self}`",
    note = "the hook returns `Result<(), E>`; use `sqlx::Error` or an error type of your own, which the write's error holds as `PostPersistHook(PostPersistHookError)`"
)]
pub trait HookError: StdError + Send + Sync + 'static {}

impl<E: StdError + Send + Sync + 'static> HookError for E {}

/// The outcome of the hook method named `hook`, its error boxed.
pub fn post_persist<E: HookError>(
    hook: &'static str,
    result: Result<(), E>,
) -> Result<(), PostPersistHookError> {
    result.map_err(|e| PostPersistHookError::new(hook, e))
}

/// Begins the transaction of a pool variant's write on `conn`.
pub async fn begin_write(conn: &mut PgConnection) -> Result<DbOp<'_>, sqlx::Error> {
    Ok(DbOp::from(sqlx::Connection::begin(conn).await?))
}

/// The errors of the writes a pool variant commits itself.
pub trait WriteError: Sized {
    /// The write and its hook succeeded, and then the commit failed: a lost
    /// connection leaves the outcome unknown; otherwise nothing was stored.
    /// A commit hook the post-persist hook added that fails before `COMMIT`
    /// is reported like a failing post-persist hook.
    fn commit_failed(err: CommitError) -> Self;
}

macro_rules! write_error {
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
    )*};
}
write_error!(CreateError, ModifyError, UncheckedModifyError);

/// Ends the transaction of a pool variant's write: commits it when the
/// write (and its hook) succeeded, rolls it back otherwise. When the commit
/// fails, `undo` gets the write's value, to put the entity's events back
/// among the new ones ([`unmark`]): they were not stored.
pub async fn finish_write<T, E: WriteError>(
    op: DbOp<'_>,
    result: Result<T, E>,
    undo: impl FnOnce(&T),
) -> Result<T, E> {
    match result {
        Ok(value) => match op.commit().await {
            Ok(()) => Ok(value),
            Err(err) => {
                undo(&value);
                Err(E::commit_failed(err))
            }
        },
        Err(err) => {
            // The write's own error is the one to report; a rollback that
            // fails leaves the transaction to the server, which ends it
            // when the connection goes.
            let _ = op.rollback().await;
            Err(err)
        }
    }
}

/// Puts the `written` events an entity's write marked stored back among its
/// new events: the transaction holding them did not commit.
pub fn unmark<T: EsEntity>(entity: &mut T, written: usize) {
    entity.events_mut().unmark_last_persisted(written);
}

/// How many new events each entity of a batch has, before its write.
pub fn new_counts<T: EsEntity>(entities: &[T]) -> Vec<usize> {
    entities.iter().map(|e| e.events().len_new()).collect()
}

/// [`unmark`] for every entity of a batch, by the counts [`new_counts`]
/// took before the write.
pub fn unmark_all<T: EsEntity>(entities: &mut [T], counts: &[usize]) {
    for (entity, &written) in entities.iter_mut().zip(counts) {
        unmark(entity, written);
    }
}
