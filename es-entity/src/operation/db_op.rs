//! [`DbOp`] and [`DbOpWithTime`]: the crate's transaction wrapper, with
//! nested operations (savepoints) and commit hooks.

use chrono::{DateTime, Utc};
use sqlx::{Acquire, PgConnection, PgPool, Postgres, Transaction};

use super::AtomicOperation;
use super::commit_hooks::{CommitError, CommitHooks};
use super::savepoint::Savepoint;

/// Commits a top-level transaction: pre-commit hooks, `COMMIT`, post-commit
/// hooks.
async fn finish(
    mut tx: Transaction<'_, Postgres>,
    mut hooks: CommitHooks,
    now: Option<DateTime<Utc>>,
) -> Result<(), CommitError> {
    if !hooks.is_empty()
        && let Err(e) = hooks.pre_commit(&mut tx, now).await
    {
        let _ = tx.rollback().await;
        return Err(e);
    }
    tx.commit().await?;
    hooks.post_commit().await;
    Ok(())
}

/// Ends a nested operation: releases its savepoint and hands its hooks to
/// the enclosing one, or commits when there is none.
async fn end<'c>(
    tx: Transaction<'c, Postgres>,
    hooks: CommitHooks,
    parent: Option<&'c mut CommitHooks>,
    now: Option<DateTime<Utc>>,
) -> Result<(), CommitError> {
    match parent {
        Some(parent) => {
            tx.commit().await?;
            parent.absorb(hooks);
            Ok(())
        }
        None => finish(tx, hooks, now).await,
    }
}

/// Our transaction wrapper. Commit it explicitly; dropping it rolls back.
///
/// ```no_run
/// use es_entity::*;
///
/// # async fn demo(pool: sqlx::PgPool) -> Result<(), Box<dyn std::error::Error>> {
/// let mut op = DbOp::init(&pool).await?;
/// {
///     let mut nested = op.begin().await?; // a savepoint
///     nested.commit().await?;
/// }
/// let op = op.with_db_time().await?; // writes now record this time
/// let _at = op.now();
/// op.commit().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DbOp<'c> {
    tx: Transaction<'c, Postgres>,
    now: Option<DateTime<Utc>>,
    hooks: CommitHooks,
    /// The hooks of the operation this one is nested in (`begin`).
    parent: Option<&'c mut CommitHooks>,
}

impl DbOp<'static> {
    /// Begins a transaction on a pooled connection.
    pub async fn init(pool: &PgPool) -> Result<Self, sqlx::Error> {
        Ok(Self::from(pool.begin().await?))
    }
}

impl<'c> DbOp<'c> {
    /// Caches `now` as the time every write in this operation records.
    pub fn with_time(self, now: DateTime<Utc>) -> DbOpWithTime<'c> {
        DbOpWithTime {
            tx: self.tx,
            now,
            hooks: self.hooks,
            parent: self.parent,
        }
    }

    /// Caches the database clock (`NOW()`, read once) as the time of every
    /// write; keeps the time already cached, if any (see [`DbOp::with_time`]).
    pub async fn with_db_time(mut self) -> Result<DbOpWithTime<'c>, sqlx::Error> {
        let now = match self.now {
            Some(now) => now,
            None => {
                sqlx::query_scalar::<_, DateTime<Utc>>("SELECT NOW()")
                    .fetch_one(&mut *self.tx)
                    .await?
            }
        };
        Ok(self.with_time(now))
    }

    /// The cached time, if any.
    pub fn maybe_now(&self) -> Option<DateTime<Utc>> {
        self.now
    }

    /// Begins a nested transaction (a savepoint) that inherits the cached time.
    pub async fn begin(&mut self) -> Result<DbOp<'_>, sqlx::Error> {
        let tx = self.tx.begin().await?;
        Ok(DbOp {
            tx,
            now: self.now,
            hooks: CommitHooks::default(),
            parent: Some(&mut self.hooks),
        })
    }

    /// Runs `f` in a savepoint, see [`with_savepoint`](crate::with_savepoint).
    pub async fn with_savepoint<T, E>(
        &mut self,
        f: impl AsyncFnOnce(&mut Savepoint<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<sqlx::Error>,
    {
        super::savepoint::with_savepoint(self, f).await
    }

    /// The underlying sqlx transaction.
    pub fn tx(&mut self) -> &mut Transaction<'c, Postgres> {
        &mut self.tx
    }

    /// Unwraps into the sqlx transaction. Commit hooks added so far are
    /// dropped: they run only through [`DbOp::commit`].
    pub fn into_tx(self) -> Transaction<'c, Postgres> {
        self.tx
    }

    /// Commits: runs the pre-commit hooks, `COMMIT`, then the post-commit
    /// hooks. A nested operation (from [`DbOp::begin`]) releases its
    /// savepoint and hands its hooks to the enclosing one instead.
    pub async fn commit(self) -> Result<(), CommitError> {
        end(self.tx, self.hooks, self.parent, self.now).await
    }

    /// Rolls back explicitly; hooks added in this operation are dropped.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl<'c> From<Transaction<'c, Postgres>> for DbOp<'c> {
    fn from(tx: Transaction<'c, Postgres>) -> Self {
        Self {
            tx,
            now: None,
            hooks: CommitHooks::default(),
            parent: None,
        }
    }
}

impl AtomicOperation for DbOp<'_> {
    fn maybe_now(&self) -> Option<DateTime<Utc>> {
        self.now
    }

    fn as_executor(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    fn parts(&mut self) -> (&mut PgConnection, Option<&mut CommitHooks>) {
        (&mut self.tx, Some(&mut self.hooks))
    }
}

/// A [`DbOp`] with a cached time: writes record [`DbOpWithTime::now`].
#[derive(Debug)]
pub struct DbOpWithTime<'c> {
    tx: Transaction<'c, Postgres>,
    now: DateTime<Utc>,
    hooks: CommitHooks,
    parent: Option<&'c mut CommitHooks>,
}

impl<'c> DbOpWithTime<'c> {
    /// The time writes in this operation record.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Begins a nested transaction (a savepoint) with the same time.
    pub async fn begin(&mut self) -> Result<DbOpWithTime<'_>, sqlx::Error> {
        let tx = self.tx.begin().await?;
        Ok(DbOpWithTime {
            tx,
            now: self.now,
            hooks: CommitHooks::default(),
            parent: Some(&mut self.hooks),
        })
    }

    /// Runs `f` in a savepoint, see [`with_savepoint`](crate::with_savepoint).
    pub async fn with_savepoint<T, E>(
        &mut self,
        f: impl AsyncFnOnce(&mut Savepoint<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<sqlx::Error>,
    {
        super::savepoint::with_savepoint(self, f).await
    }

    /// The underlying sqlx transaction.
    pub fn tx(&mut self) -> &mut Transaction<'c, Postgres> {
        &mut self.tx
    }

    /// Commits, like [`DbOp::commit`].
    pub async fn commit(self) -> Result<(), CommitError> {
        end(self.tx, self.hooks, self.parent, Some(self.now)).await
    }

    /// Rolls back explicitly; hooks added in this operation are dropped.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl<'c> From<DbOpWithTime<'c>> for DbOp<'c> {
    fn from(op: DbOpWithTime<'c>) -> Self {
        Self {
            tx: op.tx,
            now: Some(op.now),
            hooks: op.hooks,
            parent: op.parent,
        }
    }
}

impl AtomicOperation for DbOpWithTime<'_> {
    fn maybe_now(&self) -> Option<DateTime<Utc>> {
        Some(self.now)
    }

    fn as_executor(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    fn parts(&mut self) -> (&mut PgConnection, Option<&mut CommitHooks>) {
        (&mut self.tx, Some(&mut self.hooks))
    }
}
