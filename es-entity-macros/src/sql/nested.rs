//! The statements of a parent repository with nested children: the tree
//! read (the parents, their children and every event of both in one
//! statement) and the cascade of a soft delete.
//!
//! Tree rows: `node` (0 the parent, `k + 1` the `k`-th nested field),
//! `ord` (the parent's rank in the read's order), `p_id` (the parent's id,
//! also on its children's rows), `n<k>_id` (the child's id, on its rows
//! only), the event columns, `ev` / `n<k>_ev` (the event, on its node's
//! rows only, decoded with that node's event type). Rows come ordered by
//! parent rank, node, child id and sequence.

use crate::model::repo::Repo;

/// The tree read of the parents selected by `entities_sql` (a query
/// returning `id` and the columns `order` names, as `i.<col>`), ranked by `order`.
pub(crate) fn tree(repo: &Repo, entities_sql: &str, order: &str, include_deleted: bool) -> String {
    let n = repo.nested.len();
    let null_ids = |except: Option<usize>, id: &str| -> String {
        (0..n)
            .map(|k| {
                if Some(k) == except {
                    format!(", {id}")
                } else {
                    ", NULL".to_owned()
                }
            })
            .collect()
    };
    let nulls_ev = |except: Option<usize>| -> String {
        (0..n)
            .map(|k| {
                if Some(k) == except {
                    ", COALESCE(e.event, 'null'::JSONB)".to_owned()
                } else {
                    ", NULL".to_owned()
                }
            })
            .collect()
    };
    let event_cols = "COALESCE(e.sequence, 0), COALESCE(e.event_type, ''), e.context, COALESCE(e.recorded_at, NOW())";
    // The first branch names the columns (and their sqlx types).
    let id_aliases: String = (0..n)
        .map(|k| {
            format!(", NULL AS \"n{k}_id?: <Self as ::es_entity::__private::NestedNode<{k}>>::Id\"")
        })
        .collect();
    let ev_aliases: String = (0..n)
        .map(|k| {
            format!(
                ", NULL AS \"n{k}_ev?: <Self as ::es_entity::__private::NestedNode<{k}>>::Event\""
            )
        })
        .collect();
    let mut ctes = format!(
        "WITH entities AS ({entities_sql}), \
         ranked AS (SELECT i.id, ROW_NUMBER() OVER (ORDER BY {order}) AS ord FROM entities i)"
    );
    let mut branches = vec![format!(
        "SELECT 0 AS \"node!\", r.ord AS \"ord!\", r.id AS \"p_id!: <Self as ::es_entity::__private::RepoRow>::Id\"{id_aliases}, \
         COALESCE(e.sequence, 0) AS \"sequence!\", COALESCE(e.event_type, '') AS \"event_type!\", \
         e.context AS \"context?\", COALESCE(e.recorded_at, NOW()) AS \"recorded_at!\", \
         COALESCE(e.event, 'null'::JSONB) AS \"ev?: <Self as ::es_entity::__private::RepoRow>::Event\"{ev_aliases} \
         FROM ranked r {join}",
        join = events_join_on(&repo.tables.events, "r"),
    )];
    for (k, child) in repo.nested.iter().enumerate() {
        // The children soft-delete when the parent does (checked at compile time).
        let deleted = if repo.soft_delete && !include_deleted {
            " AND c.deleted = FALSE"
        } else {
            ""
        };
        ctes.push_str(&format!(
            ", n{k} AS (SELECT c.id, c.{col} AS parent, r.ord FROM {tbl} c \
             JOIN ranked r ON c.{col} = r.id WHERE TRUE{deleted})",
            col = child.parent_column,
            tbl = child.index,
        ));
        branches.push(format!(
            "SELECT {node}, c.ord, c.parent{ids}, {event_cols}, NULL{evs} FROM n{k} c {join}",
            node = k + 1,
            ids = null_ids(Some(k), "c.id"),
            evs = nulls_ev(Some(k)),
            join = events_join_on(&child.events, "c"),
        ));
    }
    let child_ids: String = (0..n).map(|k| format!(", {}", 4 + k)).collect();
    format!(
        "{ctes} {} ORDER BY 2, 1{child_ids}, {seq}",
        branches.join(" UNION ALL "),
        seq = 4 + n,
    )
}

/// [`super::events_join`] for the rows of `alias`.
fn events_join_on(events_tbl: &str, alias: &str) -> String {
    format!(
        "LEFT JOIN LATERAL (SELECT * FROM {events_tbl} x WHERE x.id = {alias}.id ORDER BY x.sequence) e ON TRUE"
    )
}

/// The CTEs a parent's soft delete (`$1` its id) adds: every nested
/// child's index row is marked deleted in the same statement.
pub(crate) fn cascade_delete(repo: &Repo) -> String {
    repo.nested
        .iter()
        .enumerate()
        .map(|(k, c)| {
            format!(
                ", cascade{k} AS (UPDATE {tbl} SET deleted = TRUE WHERE {col} = $1 AND deleted = FALSE AND EXISTS (SELECT 1 FROM entity) RETURNING 1)",
                tbl = c.index,
                col = c.parent_column,
            )
        })
        .collect()
}
