//! [`PostPersistHookError`]: a repository's post-persist hook failed; and
//! the transaction a repository with a `post_persist_hook` runs each pool
//! variant's write in.
//!
//! Such a repository's pool variants (`create`, `update`, ...) open a
//! transaction on the connection they acquire ([`begin_write`]), run their
//! `_in_op` variant in it (the write's statement, then the hook), and commit
//! or roll back ([`finish_write`]). Repositories without a hook do none of
//! this: their pool variants send the write's statement alone.

use std::error::Error as StdError;
use std::fmt;

use sqlx::PgConnection;

use crate::operation::CommitError;
use crate::operation::DbOp;

/// The error a repository's `post_persist_hook` returned, boxed, with the
/// hook's name. Repository writes report it as the `PostPersistHook`
/// variant of their error (`CreateError`, `ModifyError`,
/// `UncheckedModifyError`); get the hook's own error back with
/// [`downcast_ref`](Self::downcast_ref) or [`downcast`](Self::downcast).
///
/// ```
/// use es_entity::PostPersistHookError;
///
/// #[derive(Debug)]
/// struct OutOfStock;
/// impl std::fmt::Display for OutOfStock {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("out of stock")
///     }
/// }
/// impl std::error::Error for OutOfStock {}
///
/// let err = PostPersistHookError::new("project", OutOfStock);
/// assert_eq!(err.hook(), "project");
/// assert!(err.is::<OutOfStock>());
/// assert!(err.downcast_ref::<sqlx::Error>().is_none());
/// assert_eq!(err.to_string(), "post-persist hook `project` failed: out of stock");
/// let _original: OutOfStock = err.downcast().unwrap();
/// ```
#[derive(thiserror::Error)]
#[error("post-persist hook `{hook}` failed: {source}")]
pub struct PostPersistHookError {
    hook: &'static str,
    source: Box<dyn StdError + Send + Sync + 'static>,
}

impl PostPersistHookError {
    /// Wraps `source`, the error of the hook method named `hook`.
    pub fn new(hook: &'static str, source: impl StdError + Send + Sync + 'static) -> Self {
        Self {
            hook,
            source: Box::new(source),
        }
    }

    /// The name of the hook method, as `post_persist_hook` gives it.
    pub fn hook(&self) -> &'static str {
        self.hook
    }

    /// Whether the hook's error is an `E`.
    pub fn is<E: StdError + 'static>(&self) -> bool {
        self.source.is::<E>()
    }

    /// The hook's error, if it is an `E`.
    pub fn downcast_ref<E: StdError + 'static>(&self) -> Option<&E> {
        self.source.downcast_ref::<E>()
    }

    /// The hook's error by value, if it is an `E`; otherwise `self` again.
    pub fn downcast<E: StdError + 'static>(self) -> Result<E, Self> {
        match self.source.downcast::<E>() {
            Ok(e) => Ok(*e),
            Err(source) => Err(Self {
                hook: self.hook,
                source,
            }),
        }
    }

    /// The hook's error, type-erased.
    pub fn into_inner(self) -> Box<dyn StdError + Send + Sync + 'static> {
        self.source
    }

    /// Whether the hook failed with a `sqlx::Error` that is transient (see
    /// [`is_transient_sqlx`](crate::is_transient_sqlx)): a serialization
    /// failure or deadlock of the hook's own statements, for instance.
    /// Retry policies that opt in to transient errors retry those.
    pub fn is_transient(&self) -> bool {
        self.downcast_ref::<sqlx::Error>()
            .is_some_and(crate::sqlx_errors::is_transient_sqlx)
    }
}

impl fmt::Debug for PostPersistHookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostPersistHookError")
            .field("hook", &self.hook)
            .field("source", &self.source)
            .finish()
    }
}

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

/// Ends the transaction of a pool variant's write: commits it when the
/// write (and its hook) succeeded, rolls it back otherwise. When the commit
/// fails, `undo` gets the write's value, to put the entity's events back
/// among the new ones (`unmark`): they were not stored.
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
