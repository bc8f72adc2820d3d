//! The results of generated reads: `find_by_*`, `maybe_find_by_*`,
//! `find_all` and the pages of `list_by_*` / `list_for_*`, hydrated from
//! the rows their statement returned.

use std::collections::HashMap;

use crate::error::EntityHydrationError;
use crate::event_json::ParsedEvent;
use crate::events::{EsEvent, GenericEvent};
use crate::pagination::PaginatedQueryRet;
use crate::repo_error::{EntityColumn, FindError, QueryError};
use crate::snapshot::LoadRows;
use crate::traits::{EsEntity, EsRepo};

/// One row of a generated read: the event parsed while the row is decoded.
pub type Row<T> = GenericEvent<
    <<T as EsEntity>::Event as EsEvent>::EntityId,
    ParsedEvent<<T as EsEntity>::Event>,
>;

/// The Rust types a repository's reads decode the `entity_id` and `event`
/// columns into. Generated reads and `es_query!` name them in their column
/// aliases (`"event!: <Self as ::es_entity::__private::RepoRow>::Event"`), so
/// sqlx decodes both straight with these types (`try_get_unchecked`) instead
/// of comparing each row's column types with them first. `event` is always
/// JSONB (the reads' `COALESCE(e.event, 'null'::JSONB)`); an id column whose
/// type drifted from the entity id's shows up as the id type's decode error.
/// The path fits PostgreSQL's 63-byte limit on aliases, which a spelled-out
/// type may not.
pub trait RepoRow {
    /// The entity's id type.
    type Id;
    /// The `event` column: parsed into the event type while the row is decoded.
    type Event;
}

impl<R: EsRepo> RepoRow for R {
    type Id = <<R::Entity as EsEntity>::Event as EsEvent>::EntityId;
    type Event = ParsedEvent<<R::Entity as EsEntity>::Event>;
}

/// Hydrates the one entity a `find_by_*` query returned.
pub fn find_one<T, C>(
    rows: Vec<impl LoadRows<T>>,
    column: C,
    value: &dyn std::fmt::Debug,
) -> Result<T, FindError<C>>
where
    T: EsEntity,
    C: EntityColumn,
{
    let (mut found, more) = LoadRows::load_n(rows, 1)?;
    if more {
        return Err(FindError::MultipleFound {
            column,
            value: format!("{value:?}"),
        });
    }
    found.pop().ok_or_else(|| FindError::NotFound {
        entity: C::ENTITY,
        column,
        value: format!("{value:?}"),
    })
}

/// `find_by_*` result as `maybe_find_by_*` returns it.
pub fn maybe_found<T, C: EntityColumn>(
    result: Result<T, FindError<C>>,
) -> Result<Option<T>, QueryError<C>> {
    match result {
        Ok(t) => Ok(Some(t)),
        Err(FindError::NotFound { .. }) => Ok(None),
        Err(FindError::MultipleFound { column, value }) => {
            Err(QueryError::MultipleFound { column, value })
        }
        Err(FindError::Sqlx(e)) => Err(QueryError::Sqlx(e)),
        Err(FindError::HydrationError(e)) => Err(QueryError::HydrationError(e)),
    }
}

/// The `LIMIT` of a page: one row more than asked, to learn whether more follow.
pub fn page_limit(first: usize) -> i64 {
    i64::try_from(first)
        .unwrap_or(i64::MAX - 1)
        .saturating_add(1)
}

/// Hydrates one page of a listing; the end cursor is read from the last entity.
pub fn page<T, C>(
    rows: Vec<impl LoadRows<T>>,
    first: usize,
) -> Result<PaginatedQueryRet<T, C>, EntityHydrationError>
where
    T: EsEntity,
    C: for<'a> From<&'a T>,
{
    let (entities, has_next_page) = LoadRows::load_n(rows, first)?;
    let end_cursor = entities.last().map(C::from);
    Ok(PaginatedQueryRet {
        entities,
        has_next_page,
        end_cursor,
    })
}

/// Hydrates every entity of a `find_all` into a map by id.
pub fn find_all<T, Out>(
    rows: Vec<impl LoadRows<T>>,
) -> Result<HashMap<<T::Event as EsEvent>::EntityId, Out>, EntityHydrationError>
where
    T: EsEntity,
    Out: From<T>,
{
    let (entities, _) = LoadRows::load_n(rows, usize::MAX)?;
    Ok(entities
        .into_iter()
        .map(|e| (e.events().id().clone(), Out::from(e)))
        .collect())
}
