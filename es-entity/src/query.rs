//! [`EsQuery`]: the result of `es_query!`, a hand-written lookup that loads entities.

use std::marker::PhantomData;

use sqlx::postgres::PgRow;
use sqlx::{IntoArguments, Postgres};

use crate::error::EntityHydrationError;
use crate::event_json::ParsedEvent;
use crate::events::EsEvent;
use crate::events::GenericEvent;
use crate::one_time_executor::IntoOneTimeExecutor;
use crate::snapshot::LoadRows;
use crate::traits::{EsEntity, EsRepo};

type IdOf<R> = <<<R as EsRepo>::Entity as EsEntity>::Event as EsEvent>::EntityId;
type EntityOf<R> = <R as EsRepo>::Entity;
type EventOf<R> = <<R as EsRepo>::Entity as EsEntity>::Event;

/// A checked query selecting entity ids, wrapped to return hydrated entities.
/// Built by `es_query!` inside a repository's `impl` block:
///
/// ```ignore
/// impl Users {
///     pub async fn find_by_name_prefix(&self, prefix: &str) -> Result<(Vec<User>, bool), UserQueryError> {
///         es_query!(
///             "SELECT id FROM users WHERE name LIKE $1 || '%' ORDER BY name LIMIT $2",
///             prefix,
///             11_i64,
///         )
///         .fetch_n(&self.pool, 10)
///         .await
///     }
/// }
/// ```
///
/// `Row` is the row the statement returns: an event row, or with
/// `es_query!(snapshot, ...)` in a repository with `#[es_repo(snapshot)]` a
/// [`SnapshotRow`](crate::__private::SnapshotRow).
pub struct EsQuery<'q, R, F, A, Row = GenericEvent<IdOf<R>, ParsedEvent<EventOf<R>>>>
where
    R: EsRepo,
{
    query: sqlx::query::Map<'q, Postgres, F, A>,
    _repo: PhantomData<fn() -> (R, Row)>,
}

impl<'q, R, F, A, Row> EsQuery<'q, R, F, A, Row>
where
    R: EsRepo,
    R::QueryError: From<sqlx::Error> + From<EntityHydrationError>,
    Row: LoadRows<EntityOf<R>> + Send + Unpin + 'q,
    F: FnMut(PgRow) -> Result<Row, sqlx::Error> + Send + 'q,
    A: IntoArguments<Postgres> + Send + 'q,
{
    /// Wraps the checked query `es_query!` expands to; generated code
    /// reaches it through `__private::es_query`.
    pub(crate) fn new(query: sqlx::query::Map<'q, Postgres, F, A>) -> Self {
        Self {
            query,
            _repo: PhantomData,
        }
    }

    /// The first entity the query selects, in the query's order.
    pub async fn fetch_optional<'c: 'q>(
        self,
        op: impl IntoOneTimeExecutor<'c>,
    ) -> Result<Option<EntityOf<R>>, R::QueryError> {
        let rows = op.into_executor().fetch_all(self.query).await?;
        let (mut found, _) = Row::load_n(rows, 1)?;
        Ok(found.pop())
    }

    /// Up to `first` entities in the query's order, and whether more followed.
    /// Select `first + 1` ids (e.g. `LIMIT $n`) so the flag can be set.
    pub async fn fetch_n<'c: 'q>(
        self,
        op: impl IntoOneTimeExecutor<'c>,
        first: usize,
    ) -> Result<(Vec<EntityOf<R>>, bool), R::QueryError> {
        let rows = op.into_executor().fetch_all(self.query).await?;
        Ok(Row::load_n(rows, first)?)
    }
}

/// The [`EsQuery`] of the checked query an `es_query!` in repository `R`
/// expands to.
pub fn es_query<'q, R, F, A, Row>(
    query: sqlx::query::Map<'q, Postgres, F, A>,
) -> EsQuery<'q, R, F, A, Row>
where
    R: EsRepo + ReadsRow<Row>,
    R::QueryError: From<sqlx::Error> + From<EntityHydrationError>,
    Row: LoadRows<EntityOf<R>> + Send + Unpin + 'q,
    F: FnMut(PgRow) -> Result<Row, sqlx::Error> + Send + 'q,
    A: IntoArguments<Postgres> + Send + 'q,
{
    EsQuery::new(query)
}

/// The row type a repository's reads return: every repository implements it
/// for exactly one, so an `es_query!` whose form does not fit the
/// repository (`snapshot` or not) does not compile.
#[diagnostic::on_unimplemented(
    message = "this `es_query!` does not fit repository `{Self}`: write `es_query!(snapshot, \"...\")` in a repository with `#[es_repo(snapshot)]`, and plain `es_query!(\"...\")` in any other",
    label = "rows of the wrong form for this repository"
)]
pub trait ReadsRow<Row> {}
