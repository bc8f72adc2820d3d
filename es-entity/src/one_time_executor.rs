//! [`IntoOneTimeExecutor`]: a connection good for exactly one round trip.

use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use sqlx::{Executor, IntoArguments, PgPool, Postgres, postgres::PgRow};

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
    /// The sqlx executor behind it.
    type Executor: Executor<'c, Database = Postgres>;

    /// Consumes `self`: the executor can run one query and is then gone.
    fn into_executor(self) -> OneTimeExecutor<'c, Self::Executor>;
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
pub struct OneTimeExecutor<'c, E> {
    executor: E,
    now: Option<DateTime<Utc>>,
    _conn: PhantomData<&'c ()>,
}

impl<'c, E> OneTimeExecutor<'c, E>
where
    E: Executor<'c, Database = Postgres>,
{
    fn new(executor: E, now: Option<DateTime<Utc>>) -> Self {
        Self {
            executor,
            now,
            _conn: PhantomData,
        }
    }

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
        E: 'q,
        F: FnMut(PgRow) -> Result<O, sqlx::Error> + Send + 'q,
        O: Send + Unpin + 'q,
        A: IntoArguments<Postgres> + Send + 'q,
    {
        query.fetch_all(self.executor).await
    }

    /// Runs `query` and returns its one row.
    pub async fn fetch_one<'q, F, O, A>(
        self,
        query: sqlx::query::Map<'q, Postgres, F, A>,
    ) -> Result<O, sqlx::Error>
    where
        'c: 'q,
        E: 'q,
        F: FnMut(PgRow) -> Result<O, sqlx::Error> + Send + 'q,
        O: Send + Unpin + 'q,
        A: IntoArguments<Postgres> + Send + 'q,
    {
        query.fetch_one(self.executor).await
    }

    /// Runs `query` and returns its first row, if any.
    pub async fn fetch_optional<'q, F, O, A>(
        self,
        query: sqlx::query::Map<'q, Postgres, F, A>,
    ) -> Result<Option<O>, sqlx::Error>
    where
        'c: 'q,
        E: 'q,
        F: FnMut(PgRow) -> Result<O, sqlx::Error> + Send + 'q,
        O: Send + Unpin + 'q,
        A: IntoArguments<Postgres> + Send + 'q,
    {
        query.fetch_optional(self.executor).await
    }

    /// Runs a statement that returns no rows.
    pub async fn execute<'q, A>(
        self,
        query: sqlx::query::Query<'q, Postgres, A>,
    ) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error>
    where
        'c: 'q,
        E: 'q,
        A: IntoArguments<Postgres> + Send + 'q,
    {
        query.execute(self.executor).await
    }
}

impl<'c> IntoOneTimeExecutor<'c> for &'c PgPool {
    type Executor = &'c PgPool;

    fn into_executor(self) -> OneTimeExecutor<'c, Self::Executor> {
        OneTimeExecutor::new(self, None)
    }
}

impl<'c, O: AtomicOperation> IntoOneTimeExecutor<'c> for &'c mut O {
    type Executor = &'c mut sqlx::PgConnection;

    fn into_executor(self) -> OneTimeExecutor<'c, Self::Executor> {
        let now = self.maybe_now();
        OneTimeExecutor::new(self.as_executor(), now)
    }
}
