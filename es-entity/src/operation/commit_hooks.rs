//! Commit hooks: work tied to a transaction's commit. See [`CommitHook`].

use std::any::{Any, TypeId};
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::AtomicOperation;

/// The error a pre-commit hook fails with.
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

/// Work to run when a [`DbOp`](crate::DbOp) commits: inside the transaction
/// just before `COMMIT` ([`pre_commit`](Self::pre_commit), may write), and
/// after a successful `COMMIT` ([`post_commit`](Self::post_commit): publish,
/// notify, invalidate a cache). Add it with
/// [`AtomicOperation::add_commit_hook`]. A hook added inside a savepoint
/// that rolls back is dropped with it, and post-commit work never runs for
/// a transaction that did not commit.
///
/// Adding a second hook of the same type first offers it to the one already
/// there ([`merge`](Self::merge)): ten entity updates can make one outbox
/// message.
///
/// ```
/// use es_entity::{AtomicOperation, CommitHook, HookError};
///
/// /// Ids to announce once the transaction commits, one message for all.
/// struct Announce(Vec<u32>);
///
/// impl CommitHook for Announce {
///     async fn post_commit(self) {
///         println!("committed: {:?}", self.0);
///     }
///
///     fn merge(&mut self, other: Self) -> Option<Self> {
///         self.0.extend(other.0);
///         None // merged: nothing left over
///     }
/// }
/// ```
pub trait CommitHook: Send + Sized + 'static {
    /// Runs in the transaction just before `COMMIT`, in the order hooks were
    /// first added. An error aborts the commit: the transaction rolls back
    /// and `commit` returns [`CommitError::PreCommitHook`].
    fn pre_commit(
        &mut self,
        op: &mut impl AtomicOperation,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = op;
        async { Ok(()) }
    }

    /// Runs after a successful `COMMIT`, in the order hooks were first added.
    fn post_commit(self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Takes `other`, a hook of the same type added later, into `self` and
    /// returns `None`; or returns it back to keep both. Keeps both by default.
    fn merge(&mut self, other: Self) -> Option<Self> {
        Some(other)
    }
}

/// Why a commit failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommitError {
    /// `COMMIT` (or a statement before it) failed; post-commit hooks did not
    /// run.
    #[error("commit failed: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// A pre-commit hook failed; the transaction was rolled back.
    #[error("pre-commit hook `{hook}` failed, the transaction was rolled back: {source}")]
    PreCommitHook {
        /// The hook's type name.
        hook: &'static str,
        /// Its error.
        #[source]
        source: HookError,
    },
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The connection a pre-commit hook writes on.
struct HookOp<'a> {
    conn: &'a mut PgConnection,
    now: Option<DateTime<Utc>>,
}

impl AtomicOperation for HookOp<'_> {
    fn maybe_now(&self) -> Option<DateTime<Utc>> {
        self.now
    }

    fn as_executor(&mut self) -> &mut PgConnection {
        self.conn
    }
}

/// A [`CommitHook`] of any type.
trait ErasedHook: Send {
    fn name(&self) -> &'static str;
    fn hook_type(&self) -> TypeId;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
    fn pre_commit<'a>(
        &'a mut self,
        conn: &'a mut PgConnection,
        now: Option<DateTime<Utc>>,
    ) -> BoxFuture<'a, Result<(), HookError>>;
    fn post_commit(self: Box<Self>) -> BoxFuture<'static, ()>;
    /// Offers `other` to `self`; returns it when it is of another type or
    /// `self` keeps both.
    fn merge_erased(&mut self, other: Box<dyn ErasedHook>) -> Option<Box<dyn ErasedHook>>;
}

impl<H: CommitHook> ErasedHook for H {
    fn name(&self) -> &'static str {
        std::any::type_name::<H>()
    }

    fn hook_type(&self) -> TypeId {
        TypeId::of::<H>()
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }

    fn pre_commit<'a>(
        &'a mut self,
        conn: &'a mut PgConnection,
        now: Option<DateTime<Utc>>,
    ) -> BoxFuture<'a, Result<(), HookError>> {
        Box::pin(async move {
            let mut op = HookOp { conn, now };
            CommitHook::pre_commit(self, &mut op).await
        })
    }

    fn post_commit(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(CommitHook::post_commit(*self))
    }

    fn merge_erased(&mut self, other: Box<dyn ErasedHook>) -> Option<Box<dyn ErasedHook>> {
        if other.hook_type() != TypeId::of::<H>() {
            return Some(other);
        }
        match other.into_any().downcast::<H>() {
            Ok(other) => self
                .merge(*other)
                .map(|back| Box::new(back) as Box<dyn ErasedHook>),
            Err(_) => None,
        }
    }
}

/// The commit hooks of one operation or savepoint, in the order they were
/// first added. Only reachable through [`AtomicOperation::parts`]: an
/// operation type of your own that wraps a [`DbOp`](crate::DbOp) forwards
/// `parts` to it so hooks added through the wrapper are kept.
#[derive(Default)]
pub struct CommitHooks {
    hooks: Vec<Box<dyn ErasedHook>>,
}

impl std::fmt::Debug for CommitHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.hooks.iter().map(|h| h.name()))
            .finish()
    }
}

impl CommitHooks {
    pub(crate) fn add<H: CommitHook>(&mut self, hook: H) {
        self.add_erased(Box::new(hook));
    }

    fn add_erased(&mut self, mut hook: Box<dyn ErasedHook>) {
        for existing in &mut self.hooks {
            match existing.merge_erased(hook) {
                None => return,
                Some(back) => hook = back,
            }
        }
        self.hooks.push(hook);
    }

    /// Takes the hooks of a released savepoint, merging as if added here.
    pub(crate) fn absorb(&mut self, other: CommitHooks) {
        for hook in other.hooks {
            self.add_erased(hook);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }

    /// Runs every pre-commit hook on `conn`; the first failure ends it.
    pub(crate) async fn pre_commit(
        &mut self,
        conn: &mut PgConnection,
        now: Option<DateTime<Utc>>,
    ) -> Result<(), CommitError> {
        for hook in &mut self.hooks {
            let name = hook.name();
            hook.pre_commit(&mut *conn, now)
                .await
                .map_err(|source| CommitError::PreCommitHook { hook: name, source })?;
        }
        Ok(())
    }

    /// Runs every post-commit hook.
    pub(crate) async fn post_commit(self) {
        for hook in self.hooks {
            hook.post_commit().await;
        }
    }
}
