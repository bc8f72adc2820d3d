//! Keyset-paginated listings: `list_by_*`, `list_for_*`, `list_for_filters`.
//!
//! Parameters: `$1` the row limit (page size + 1); with a cursor, `$2` its
//! value and `$3` its id (just `$2` when listing by id); then the filters.

use super::{equals, not_deleted, read_parts};
use crate::model::listing::{Filter, Sort};
use crate::model::repo::Repo;

/// How a filter is bound.
#[derive(Clone, Copy)]
pub(crate) enum FilterMode {
    /// One parameter, always applied (`list_for_<col>_by_*`).
    Exact,
    /// A BOOL switch and a value (`list_for_filters`): applied when the switch is on.
    Optional,
}

/// One listing statement.
pub(crate) struct ListQuery<'a> {
    pub sort: &'a Sort,
    pub descending: bool,
    pub after: bool,
    pub filters: Vec<(&'a Filter, FilterMode)>,
    pub include_deleted: bool,
}

pub(crate) fn list(repo: &Repo, q: &ListQuery<'_>) -> String {
    let (entities, outer_order, next) = list_entities(repo, q);
    // A snapshot repository's snapshot version follows the filters.
    let (columns, join) = read_parts(repo.snapshot_tbl(), &repo.tables.events, next);
    format!(
        "WITH entities AS ({entities}) \
         SELECT {columns} FROM entities i {join} \
         ORDER BY {outer_order}, e.sequence",
    )
}

/// The entities one listing statement selects (`id` and the sort column),
/// their order over `entities i`, and the number of the first parameter
/// after the filters: for its statement or its tree read.
pub(crate) fn list_entities(repo: &Repo, q: &ListQuery<'_>) -> (String, String, usize) {
    let col = q.sort.name.to_string();
    let by_id = q.sort.by_id();
    let mut conds = Vec::new();
    let mut next = 2;
    if q.after {
        conds.push(keyset(&col, by_id, q.sort.nullable, q.descending));
        next = if by_id { 3 } else { 4 };
    }
    // A nullable filter of its own (`list_for_<col>`) is read in two
    // branches, one for a value and one for NULL, so each has a plain index
    // condition even in a generic plan (see `super::equals`).
    let mut null_branch = None;
    for (filter, mode) in &q.filters {
        let name = filter.name.to_string();
        match mode {
            FilterMode::Exact if filter.nullable && null_branch.is_none() => {
                null_branch = Some((conds.len(), format!("{name} IS NULL AND ${next} IS NULL")));
                conds.push(format!("{name} = ${next}"));
                next += 1;
            }
            FilterMode::Exact => {
                conds.push(equals(&name, next, filter.nullable));
                next += 1;
            }
            FilterMode::Optional => {
                conds.push(format!(
                    "(NOT ${next}::BOOL OR {})",
                    equals(&name, next + 1, filter.nullable)
                ));
                next += 2;
            }
        }
    }
    let deleted = not_deleted(repo, q.include_deleted);
    let dir = if q.descending { " DESC" } else { "" };
    let (select, inner_order, outer_order) = if by_id {
        ("id".to_owned(), format!("id{dir}"), format!("i.id{dir}"))
    } else {
        (
            format!("id, {col}"),
            format!("{col}{dir}, id{dir}"),
            format!("i.{col}{dir}, i.id{dir}"),
        )
    };
    let page = |conds: &[String]| {
        let mut filter = conds.join(" AND ");
        if !deleted.is_empty() {
            filter = if filter.is_empty() {
                "deleted = FALSE".to_owned()
            } else {
                format!("{filter}{deleted}")
            };
        }
        let where_clause = if filter.is_empty() {
            String::new()
        } else {
            format!(" WHERE {filter}")
        };
        format!(
            "SELECT {select} FROM {tbl}{where_clause} ORDER BY {inner_order} LIMIT $1",
            tbl = repo.tables.index
        )
    };
    let entities = match null_branch {
        None => page(&conds),
        Some((at, is_null)) => {
            let with_value = page(&conds);
            conds[at] = is_null;
            format!("({with_value}) UNION ALL ({})", page(&conds))
        }
    };
    (entities, outer_order, next)
}

/// Rows strictly after the cursor `($2, $3)` in the listing order. NULLs sort
/// last ascending and first descending (PostgreSQL's defaults), so a nullable
/// column needs the NULL cases spelled out; a `NOT NULL` column uses a row
/// comparison that an index on `(col, id)` serves directly.
fn keyset(col: &str, by_id: bool, nullable: bool, descending: bool) -> String {
    let cmp = if descending { "<" } else { ">" };
    if by_id {
        return format!("id {cmp} $2");
    }
    if !nullable {
        return format!("({col}, id) {cmp} ($2, $3)");
    }
    if descending {
        format!(
            "((({col} < $2 OR ({col} = $2 AND id < $3)) AND $2 IS NOT NULL) \
             OR ($2 IS NULL AND ({col} IS NOT NULL OR id < $3)))"
        )
    } else {
        format!(
            "((({col} > $2 OR ({col} = $2 AND id > $3) OR {col} IS NULL) AND $2 IS NOT NULL) \
             OR ($2 IS NULL AND {col} IS NULL AND id > $3))"
        )
    }
}
