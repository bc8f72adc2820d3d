//! [`IntoOneTimeExecutor`]: a connection good for exactly one round trip.

use chrono::{DateTime, Utc};
use sqlx::{IntoArguments, PgConnection, PgPool, Postgres, postgres::PgRow};

use crate::operation::AtomicOperation;

/// Anything that can run exactly one query: `&PgPool`, or `&mut` any
/// [`AtomicOperation`] (a transaction). Reads take this, so callers may pass
/// either the pool or their open transaction.
///
/// ```no_run
/// use es_entity::*;
///
/// async fn count(op: impl IntoOneTimeExecutor<'_>) -> Result<u64, sqlx::Error> {
///     let done = op.into_executor().execute(sqlx::query("SELECT 1")).await?;
///     Ok(done.rows_affected())
/// }
///
/// # async fn demo(pool: sqlx::PgPool) -> Result<(), sqlx::Error> {
/// count(&pool).await?;
/// let mut tx = pool.begin().await?;
/// count(&mut tx).await?;
/// let mut op = DbOp::init(&pool).await?;
/// count(&mut op).await?;
/// # Ok(()) }
/// ```
pub trait IntoOneTimeExecutor<'c>: Send + Sized {
    /// Consumes `self`: the executor can run one query and is then gone.
    fn into_executor(self) -> OneTimeExecutor<'c>;
}

/// Runs one query, then is consumed. Built by [`IntoOneTimeExecutor::into_executor`].
///
/// A second query on the same value does not compile:
///
/// ```compile_fail
/// # use es_entity::*;
/// async fn twice(op: impl IntoOneTimeExecutor<'_>) {
///     let ex = op.into_executor();
///     ex.execute(sqlx::query("SELECT 1")).await.unwrap();
///     ex.execute(sqlx::query("SELECT 2")).await.unwrap(); // `ex` was moved
/// }
/// ```
pub struct OneTimeExecutor<'c> {
    target: Target<'c>,
    now: Option<DateTime<Utc>>,
}

/// A concrete type (not an associated one), so that futures of functions
/// generic over `impl IntoOneTimeExecutor<'_>` stay `Send`.
enum Target<'c> {
    Pool(&'c PgPool),
    Connection(&'c mut PgConnection),
}

impl<'c> OneTimeExecutor<'c> {
    /// The operation's cached time, if it has one.
    pub fn now(&self) -> Option<DateTime<Utc>> {
        self.now
    }

    /// Runs `query` and collects every row.
    pub async fn fetch_all<'q, F, O, A>(
        self,
        query: sqlx::query::Map<'q, Postgres, F, A>,
    ) -> Result<Vec<O>, sqlx::Error>
    where
        'c: 'q,
        F: FnMut(PgRow) -> Result<O, sqlx::Error> + Send + 'q,
        O: Send + Unpin + 'q,
        A: IntoArguments<Postgres> + Send + 'q,
    {
        match self.target {
            Target::Pool(pool) => query.fetch_all(pool).await,
            Target::Connection(conn) => query.fetch_all(conn).await,
        }
    }

    /// Runs `query` and returns its one row.
    pub async fn fetch_one<'q, F, O, A>(
        self,
        query: sqlx::query::Map<'q, Postgres, F, A>,
    ) -> Result<O, sqlx::Error>
    where
        'c: 'q,
        F: FnMut(PgRow) -> Result<O, sqlx::Error> + Send + 'q,
        O: Send + Unpin + 'q,
        A: IntoArguments<Postgres> + Send + 'q,
    {
        match self.target {
            Target::Pool(pool) => query.fetch_one(pool).await,
            Target::Connection(conn) => query.fetch_one(conn).await,
        }
    }

    /// Runs `query` and returns its first row, if any.
    pub async fn fetch_optional<'q, F, O, A>(
        self,
        query: sqlx::query::Map<'q, Postgres, F, A>,
    ) -> Result<Option<O>, sqlx::Error>
    where
        'c: 'q,
        F: FnMut(PgRow) -> Result<O, sqlx::Error> + Send + 'q,
        O: Send + Unpin + 'q,
        A: IntoArguments<Postgres> + Send + 'q,
    {
        match self.target {
            Target::Pool(pool) => query.fetch_optional(pool).await,
            Target::Connection(conn) => query.fetch_optional(conn).await,
        }
    }

    /// Runs a statement that returns no rows.
    pub async fn execute<'q, A>(
        self,
        query: sqlx::query::Query<'q, Postgres, A>,
    ) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error>
    where
        'c: 'q,
        A: IntoArguments<Postgres> + Send + 'q,
    {
        match self.target {
            Target::Pool(pool) => query.execute(pool).await,
            Target::Connection(conn) => query.execute(conn).await,
        }
    }
}

impl<'c> IntoOneTimeExecutor<'c> for &'c PgPool {
    fn into_executor(self) -> OneTimeExecutor<'c> {
        OneTimeExecutor {
            target: Target::Pool(self),
            now: None,
        }
    }
}

impl<'c, O: AtomicOperation> IntoOneTimeExecutor<'c> for &'c mut O {
    fn into_executor(self) -> OneTimeExecutor<'c> {
        let now = self.maybe_now();
        OneTimeExecutor {
            target: Target::Connection(self.as_executor()),
            now,
        }
    }
}

impl<'c> IntoOneTimeExecutor<'c> for OneTimeExecutor<'c> {
    fn into_executor(self) -> OneTimeExecutor<'c> {
        self
    }
}

/// An executor on a bare connection, for generated code that holds one
/// (reached through `__private`: a connection outside a transaction is no
/// `AtomicOperation`).
pub fn on_connection(conn: &mut PgConnection, now: Option<DateTime<Utc>>) -> OneTimeExecutor<'_> {
    OneTimeExecutor {
        target: Target::Connection(conn),
        now,
    }
}
