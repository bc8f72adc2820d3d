//! The statements of a parent repository with nested children: the tree
//! read (the parents, their children, their grandchildren and every event
//! of each in one statement) and the cascade of a soft delete.
//!
//! Tree rows: `node` (0 the parent, then one per [`slots`] entry), `ord`
//! (the parent's rank in the read's order), `p_id` (the parent's id, on
//! every row of its tree), `<slot>_id` (a child's id on its rows and its
//! children's rows; a grandchild's on its own), the event columns, `ev` /
//! `<slot>_ev` (the event, on its node's rows only, decoded with that
//! node's event type). Rows come ordered by parent rank, node, the slots'
//! ids and sequence, so each entity's events are consecutive.

use crate::model::nested::{Slot, slots};
use crate::model::repo::Repo;

/// The tree read of the parents selected by `entities_sql` (a query
/// returning `id` and the columns `order` names, as `i.<col>`), ranked by `order`.
pub(crate) fn tree(repo: &Repo, entities_sql: &str, order: &str, include_deleted: bool) -> String {
    let slots = slots(&repo.nested);
    // The children soft-delete when the parent does (checked at compile time).
    let deleted = |alias: &str| {
        if repo.soft_delete && !include_deleted {
            format!(" WHERE {alias}.deleted = FALSE")
        } else {
            String::new()
        }
    };
    // The first branch names the columns; its NULLs are typed (a UNION of
    // three or more branches resolves column types pairwise, and two
    // untyped NULLs would make `text`). The slots' columns take the
    // row struct's field types (`_`).
    let id_aliases: String = slots
        .iter()
        .map(|s| {
            format!(
                ", (SELECT x.id FROM {tbl} x WHERE FALSE) AS \"{name}_id?: _\"",
                tbl = s.tables.index,
                name = s.name
            )
        })
        .collect();
    let ev_aliases: String = slots
        .iter()
        .map(|s| format!(", NULL::JSONB AS \"{}_ev?: _\"", s.name))
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
    let event_cols = "COALESCE(e.sequence, 0), COALESCE(e.event_type, ''), e.context, COALESCE(e.recorded_at, NOW())";
    for s in &slots {
        let t = s.tables;
        ctes.push_str(&match s.grandchild {
            // A child: `parent` is the parent's id.
            None => format!(
                ", {name} AS (SELECT c.id, c.{col} AS parent, r.ord FROM {tbl} c \
                 JOIN ranked r ON c.{col} = r.id{deleted})",
                name = s.name,
                col = t.parent_column,
                tbl = t.index,
                deleted = deleted("c"),
            ),
            // A grandchild: `child` is its parent's id, `parent` the root's.
            Some(_) => format!(
                ", {name} AS (SELECT g.id, g.{col} AS child, c.parent, c.ord FROM {tbl} g \
                 JOIN n{k} c ON g.{col} = c.id{deleted})",
                name = s.name,
                col = t.parent_column,
                tbl = t.index,
                k = s.child,
                deleted = deleted("g"),
            ),
        });
        // Its own id in its column; a grandchild's rows carry its parent's
        // id in the child's column too (they sort under it).
        let ids: String = slots
            .iter()
            .map(|other| {
                if other.node == s.node {
                    ", c.id"
                } else if s.grandchild.is_some()
                    && other.grandchild.is_none()
                    && other.child == s.child
                {
                    ", c.child"
                } else {
                    ", NULL"
                }
            })
            .collect();
        let evs: String = slots
            .iter()
            .map(|other| {
                if other.node == s.node {
                    ", COALESCE(e.event, 'null'::JSONB)"
                } else {
                    ", NULL"
                }
            })
            .collect();
        branches.push(format!(
            "SELECT {node}, c.ord, c.parent{ids}, {event_cols}, NULL{evs} FROM {name} c {join}",
            node = s.node,
            name = s.name,
            join = events_join_on(&t.events, "c"),
        ));
    }
    let slot_ids: String = (0..slots.len()).map(|i| format!(", {}", 4 + i)).collect();
    format!(
        "{ctes} {} ORDER BY 2, 1{slot_ids}, {seq}",
        branches.join(" UNION ALL "),
        seq = 4 + slots.len(),
    )
}

/// [`super::events_join`] for the rows of `alias`.
fn events_join_on(events_tbl: &str, alias: &str) -> String {
    format!(
        "LEFT JOIN LATERAL (SELECT * FROM {events_tbl} x WHERE x.id = {alias}.id ORDER BY x.sequence) e ON TRUE"
    )
}

/// The CTEs a parent's soft delete (`$1` its id) adds: every nested
/// child's and grandchild's index row is marked deleted in the same statement.
pub(crate) fn cascade_delete(repo: &Repo) -> String {
    slots(&repo.nested)
        .iter()
        .map(|s: &Slot<'_>| {
            let t = s.tables;
            // A grandchild's parents are found among the child rows as every
            // CTE sees them: as they were before this statement.
            let owners = match s.grandchild {
                None => "= $1".to_owned(),
                Some(_) => {
                    let c = &repo.nested[s.child].tables;
                    format!(
                        "IN (SELECT id FROM {} WHERE {} = $1)",
                        c.index, c.parent_column
                    )
                }
            };
            format!(
                ", cascade_{name} AS (UPDATE {tbl} SET deleted = TRUE WHERE {col} {owners} \
                 AND deleted = FALSE AND EXISTS (SELECT 1 FROM entity) RETURNING 1)",
                name = s.name,
                tbl = t.index,
                col = t.parent_column,
            )
        })
        .collect()
}
