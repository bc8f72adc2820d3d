//! [`AtomicOperation`]: the transactions writes run in. Its implementors
//! and the types its methods name live here too, as one unit: [`DbOp`] and
//! [`DbOpWithTime`] (`db_op`), [`Savepoint`] (`savepoint`) and the commit
//! hooks (`commit_hooks`). Nothing here depends on the rest of the crate.

mod commit_hooks;
mod db_op;
mod savepoint;

pub use commit_hooks::{CommitError, CommitHook, CommitHooks, HookError};
pub use db_op::{DbOp, DbOpWithTime};
pub use savepoint::{Savepoint, with_savepoint};

use std::future::Future;

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection, Postgres, Transaction};

/// A transaction that several statements can run in. Every write takes
/// `&mut impl AtomicOperation`, so a pool cannot be passed by mistake:
///
/// ```compile_fail,E0277
/// # use es_entity::*;
/// async fn write(op: &mut impl AtomicOperation) {}
/// async fn caller(mut pool: sqlx::PgPool) {
///     write(&mut pool).await; // a pool is not a transaction
/// }
/// ```
///
/// It is implemented for `sqlx::Transaction<'_, Postgres>`, [`DbOp`] and
/// [`DbOpWithTime`]; pass them as `&mut tx`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a transaction (`AtomicOperation`)",
    label = "writes need a transaction here",
    note = "begin one with `repo.begin_op()`, `DbOp::init(&pool)` or `pool.begin()`, pass `&mut op`, then commit it"
)]
pub trait AtomicOperation: Send {
    /// The time writes should record, when the operation caches one.
    fn maybe_now(&self) -> Option<DateTime<Utc>> {
        None
    }

    /// The connection to run the next statement on.
    fn as_executor(&mut self) -> &mut PgConnection;

    /// The connection together with the operation's commit hooks, `None`
    /// for an operation that keeps none (a plain `sqlx::Transaction`).
    /// Operations that keep hooks override it.
    fn parts(&mut self) -> (&mut PgConnection, Option<&mut CommitHooks>) {
        (self.as_executor(), None)
    }

    /// Adds a [`CommitHook`] to run when the transaction commits (merged into
    /// one of the same type already added, if it agrees). Returns the hook
    /// back when this operation keeps no hooks: a plain `sqlx::Transaction`
    /// has nowhere to run them, a [`DbOp`] has.
    fn add_commit_hook<H: CommitHook>(&mut self, hook: H) -> Result<(), H>
    where
        Self: Sized,
    {
        match self.parts().1 {
            Some(hooks) => {
                hooks.add(hook);
                Ok(())
            }
            None => Err(hook),
        }
    }

    /// Begins a savepoint: writes through the returned [`Savepoint`] are
    /// kept by its [`release`](Savepoint::release) and undone by its
    /// [`rollback`](Savepoint::rollback) or by dropping it, and the
    /// transaction stays usable either way. See also
    /// [`with_savepoint`](crate::with_savepoint).
    fn begin_savepoint(&mut self) -> impl Future<Output = Result<Savepoint<'_>, sqlx::Error>> + Send
    where
        Self: Sized,
    {
        let now = self.maybe_now();
        let (conn, hooks) = self.parts();
        async move {
            let tx = Connection::begin(conn).await?;
            Ok(Savepoint::new(tx, now, hooks))
        }
    }
}

impl AtomicOperation for Transaction<'_, Postgres> {
    fn as_executor(&mut self) -> &mut PgConnection {
        self
    }
}

impl<O: AtomicOperation + ?Sized> AtomicOperation for &mut O {
    fn maybe_now(&self) -> Option<DateTime<Utc>> {
        (**self).maybe_now()
    }

    fn as_executor(&mut self) -> &mut PgConnection {
        (**self).as_executor()
    }

    fn parts(&mut self) -> (&mut PgConnection, Option<&mut CommitHooks>) {
        (**self).parts()
    }
}
