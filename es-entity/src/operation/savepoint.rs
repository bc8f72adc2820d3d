//! Savepoints: part of a transaction that can fail without spoiling the
//! rest.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, Transaction};

use super::AtomicOperation;
use super::commit_hooks::CommitHooks;

/// A savepoint inside a transaction, from
/// [`AtomicOperation::begin_savepoint`]. It is an [`AtomicOperation`]
/// itself: pass `&mut sp` to any `_in_op` function. [`release`](Self::release)
/// keeps its writes, [`rollback`](Self::rollback) (or dropping it) undoes
/// them, and the enclosing transaction stays usable either way. Commit hooks
/// added through it reach the enclosing operation on release and are
/// dropped on rollback.
///
/// ```no_run
/// use es_entity::*;
/// # async fn f(pool: sqlx::PgPool) -> Result<(), sqlx::Error> {
/// let mut op = DbOp::init(&pool).await?;
/// let mut sp = op.begin_savepoint().await?;
/// let failed = sqlx::query("INSERT INTO nowhere VALUES (1)")
///     .execute(sp.as_executor())
///     .await;
/// if failed.is_err() {
///     sp.rollback().await?; // `op` can go on
/// } else {
///     sp.release().await?;
/// }
/// op.commit().await.unwrap();
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Savepoint<'a> {
    tx: Transaction<'a, Postgres>,
    now: Option<DateTime<Utc>>,
    /// Its own hooks and the enclosing operation's, when that keeps hooks.
    hooks: Option<(CommitHooks, &'a mut CommitHooks)>,
}

impl<'a> Savepoint<'a> {
    pub(crate) fn new(
        tx: Transaction<'a, Postgres>,
        now: Option<DateTime<Utc>>,
        parent: Option<&'a mut CommitHooks>,
    ) -> Self {
        Self {
            tx,
            now,
            hooks: parent.map(|p| (CommitHooks::default(), p)),
        }
    }

    /// Keeps the savepoint's writes (`RELEASE SAVEPOINT`) and hands its
    /// commit hooks to the enclosing operation.
    pub async fn release(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await?;
        if let Some((own, parent)) = self.hooks {
            parent.absorb(own);
        }
        Ok(())
    }

    /// Undoes the savepoint's writes (`ROLLBACK TO SAVEPOINT`) and drops its
    /// commit hooks.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }

    /// Runs `f` in a savepoint nested in this one, see [`with_savepoint`].
    pub async fn with_savepoint<T, E>(
        &mut self,
        f: impl AsyncFnOnce(&mut Savepoint<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<sqlx::Error>,
    {
        with_savepoint(self, f).await
    }
}

impl AtomicOperation for Savepoint<'_> {
    fn maybe_now(&self) -> Option<DateTime<Utc>> {
        self.now
    }

    fn as_executor(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    fn parts(&mut self) -> (&mut PgConnection, Option<&mut CommitHooks>) {
        (&mut self.tx, self.hooks.as_mut().map(|(own, _)| own))
    }
}

/// Runs `f` in a savepoint of `op`: released when it returns `Ok`, rolled
/// back when it returns `Err`; `op` stays usable either way, so a failed
/// write no longer spoils the caller's transaction. Works on any
/// [`AtomicOperation`]: [`DbOp`](crate::DbOp) and
/// [`DbOpWithTime`](crate::DbOpWithTime) (also as a method), a
/// `sqlx::Transaction`, a [`Savepoint`], `&mut O`.
///
/// A failure to begin, release or roll back the savepoint is returned as
/// `E::from(sqlx::Error)`; when the rollback after an `Err` fails, the
/// closure's error is returned and the transaction is most likely unusable.
///
/// ```no_run
/// use es_entity::*;
/// # async fn f(pool: sqlx::PgPool) -> Result<(), sqlx::Error> {
/// let mut tx = pool.begin().await?;
/// let inserted = with_savepoint(&mut tx, async |sp| {
///     sqlx::query("INSERT INTO nowhere VALUES (1)")
///         .execute(sp.as_executor())
///         .await
/// })
/// .await;
/// assert!(inserted.is_err());
/// sqlx::query("SELECT 1").execute(&mut *tx).await?; // still usable
/// tx.commit().await?;
/// # Ok(()) }
/// ```
pub async fn with_savepoint<O, T, E>(
    op: &mut O,
    f: impl AsyncFnOnce(&mut Savepoint<'_>) -> Result<T, E>,
) -> Result<T, E>
where
    O: AtomicOperation,
    E: From<sqlx::Error>,
{
    let mut sp = op.begin_savepoint().await?;
    match f(&mut sp).await {
        Ok(value) => {
            sp.release().await?;
            Ok(value)
        }
        Err(e) => {
            let _ = sp.rollback().await;
            Err(e)
        }
    }
}
