//! Cursor pagination: [`PaginatedQueryArgs`] in, [`PaginatedQueryRet`] out.

use serde::{Deserialize, Serialize};

/// Which way a listing runs over its sort column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ListDirection {
    /// Smallest first (NULLs last).
    #[default]
    Ascending,
    /// Largest first (NULLs first): exactly the reverse of `Ascending`.
    Descending,
}

/// A sort column and direction, for `list_for_filters`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sort<T> {
    /// The column to sort by.
    pub by: T,
    /// The direction.
    pub direction: ListDirection,
}

/// One page request: at most `first` entities after the `after` cursor.
///
/// ```
/// use es_entity::PaginatedQueryArgs;
/// let first_page: PaginatedQueryArgs<String> = PaginatedQueryArgs::first(10);
/// assert_eq!(first_page.first, 10);
/// assert!(first_page.after.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaginatedQueryArgs<C> {
    /// Page size.
    pub first: usize,
    /// Where the previous page ended; `None` for the first page.
    pub after: Option<C>,
}

impl<C> PaginatedQueryArgs<C> {
    /// The first page of `first` entities.
    pub fn first(first: usize) -> Self {
        Self { first, after: None }
    }
}

/// One page of entities.
///
/// ```
/// use es_entity::PaginatedQueryRet;
/// let page = PaginatedQueryRet { entities: vec![1, 2], has_next_page: true, end_cursor: Some(2) };
/// let next = page.into_next_query().unwrap();
/// assert_eq!((next.first, next.after), (2, Some(2)));
/// ```
#[derive(Debug, Clone)]
pub struct PaginatedQueryRet<T, C> {
    /// The entities of this page, in order.
    pub entities: Vec<T>,
    /// Whether another page follows.
    pub has_next_page: bool,
    /// The cursor of the last entity, to pass as `after` for the next page.
    pub end_cursor: Option<C>,
}

impl<T, C> PaginatedQueryRet<T, C> {
    /// The same page with its cursor converted, e.g. into a cursor enum.
    pub fn map_end_cursor<D>(self, f: impl FnOnce(C) -> D) -> PaginatedQueryRet<T, D> {
        PaginatedQueryRet {
            entities: self.entities,
            has_next_page: self.has_next_page,
            end_cursor: self.end_cursor.map(f),
        }
    }

    /// The arguments for the next page (same size), if there is one.
    pub fn into_next_query(self) -> Option<PaginatedQueryArgs<C>> {
        if self.has_next_page {
            Some(PaginatedQueryArgs {
                first: self.entities.len(),
                after: self.end_cursor,
            })
        } else {
            None
        }
    }
}
