//! [`AtomicOperation`] and [`DbOp`]: transactions that writes run in.

use chrono::{DateTime, Utc};
use sqlx::{Acquire, PgConnection, PgPool, Postgres, Transaction};

/// A transaction that several statements can run in. Every write takes
/// `&mut impl AtomicOperation`, so a pool cannot be passed by mistake:
///
/// ```compile_fail
/// # use es_entity::*;
/// async fn write(op: &mut impl AtomicOperation) {}
/// async fn caller(pool: sqlx::PgPool) {
///     write(&pool).await; // a pool is not a transaction
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
}

impl AtomicOperation for Transaction<'_, Postgres> {
    fn as_executor(&mut self) -> &mut PgConnection {
        self
    }
}

/// Our transaction wrapper. Commit it explicitly; dropping it rolls back.
///
/// ```no_run
/// use es_entity::*;
///
/// # async fn demo(pool: sqlx::PgPool) -> Result<(), sqlx::Error> {
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
        DbOpWithTime { tx: self.tx, now }
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
        Ok(DbOp { tx, now: self.now })
    }

    /// The underlying sqlx transaction.
    pub fn tx(&mut self) -> &mut Transaction<'c, Postgres> {
        &mut self.tx
    }

    /// Unwraps into the sqlx transaction.
    pub fn into_tx(self) -> Transaction<'c, Postgres> {
        self.tx
    }

    /// Commits (or releases the savepoint).
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// Rolls back explicitly.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl<'c> From<Transaction<'c, Postgres>> for DbOp<'c> {
    fn from(tx: Transaction<'c, Postgres>) -> Self {
        Self { tx, now: None }
    }
}

impl AtomicOperation for DbOp<'_> {
    fn maybe_now(&self) -> Option<DateTime<Utc>> {
        self.now
    }

    fn as_executor(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}

/// A [`DbOp`] with a cached time: writes record [`DbOpWithTime::now`].
#[derive(Debug)]
pub struct DbOpWithTime<'c> {
    tx: Transaction<'c, Postgres>,
    now: DateTime<Utc>,
}

impl<'c> DbOpWithTime<'c> {
    /// The time writes in this operation record.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Begins a nested transaction (a savepoint) with the same time.
    pub async fn begin(&mut self) -> Result<DbOpWithTime<'_>, sqlx::Error> {
        let tx = self.tx.begin().await?;
        Ok(DbOpWithTime { tx, now: self.now })
    }

    /// The underlying sqlx transaction.
    pub fn tx(&mut self) -> &mut Transaction<'c, Postgres> {
        &mut self.tx
    }

    /// Commits (or releases the savepoint).
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// Rolls back explicitly.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl<'c> From<DbOpWithTime<'c>> for DbOp<'c> {
    fn from(op: DbOpWithTime<'c>) -> Self {
        Self {
            tx: op.tx,
            now: Some(op.now),
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
}
