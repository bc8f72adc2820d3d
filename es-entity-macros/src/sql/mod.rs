//! The only place SQL text is built. Output is deterministic (declaration
//! order, fixed whitespace) because sqlx names `.sqlx/` cache files after a
//! hash of the exact string.

mod feed;
mod list;
mod nested;
mod snapshot;

pub(crate) use feed::{feed_after, feed_checkpoint_of};
pub(crate) use list::{FilterMode, ListQuery, list, list_entities};
pub(crate) use nested::tree;

use crate::model::column::Column;
use crate::model::listing::Lookup;
use crate::model::repo::Repo;

/// The event columns every read returns, shaped for `es_entity::GenericEvent`.
/// The id and the event are decoded with the exact types
/// `es_entity::__private::RepoRow` gives the repository (`Self` in the
/// generated method or the `impl` block around `es_query!`), so sqlx decodes
/// them unchecked instead of comparing each row's column types first (see
/// `RepoRow`); the other columns' types sqlx infers itself.
pub(super) const EVENT_COLUMNS: &str = "i.id AS \"entity_id!: <Self as ::es_entity::__private::RepoRow>::Id\", \
     COALESCE(e.sequence, 0) AS \"sequence!\", COALESCE(e.event_type, '') AS \"event_type!\", \
     COALESCE(e.event, 'null'::JSONB) AS \"event!: <Self as ::es_entity::__private::RepoRow>::Event\", \
     e.context AS \"context?\", COALESCE(e.recorded_at, NOW()) AS \"recorded_at!\"";

/// Events of the entities selected by `entities_sql` (a query returning an
/// `id` column), grouped by entity, ordered by sequence.
/// `$1` is the statements' one parameter; a snapshot repository's
/// snapshot version is `$2`.
pub(crate) fn events_of(repo: &Repo, entities_sql: &str) -> String {
    let (columns, join) = read_parts(repo.snapshot_tbl(), &repo.tables.events, 2);
    format!(
        "WITH entities AS ({entities_sql}) SELECT {columns} FROM entities i \
         {join} ORDER BY i.id, e.sequence",
    )
}

/// The columns and joins of a read: the event columns and `events_join`,
/// or with a snapshot table (`Some`) the snapshot read's, its version
/// the parameter `$version`.
pub(super) fn read_parts(
    snapshot_tbl: Option<&str>,
    events_tbl: &str,
    version: usize,
) -> (String, String) {
    match snapshot_tbl {
        None => (EVENT_COLUMNS.to_owned(), events_join(events_tbl)),
        Some(tbl) => (
            format!("{EVENT_COLUMNS}{}", snapshot::READ_COLUMNS),
            snapshot::read_join(tbl, events_tbl, version),
        ),
    }
}

/// Joins each selected entity (`i`) to its events (`e`) with a LATERAL index
/// lookup on `(id, sequence)`, so the plan cannot turn into a scan of the
/// whole events table when the statistics are small or stale. It is a LEFT
/// join: an index row without events comes back as one row with sequence 0
/// (see `EVENT_COLUMNS`), which hydration reports as an error naming the
/// entity instead of the entity silently vanishing.
pub(super) fn events_join(events_tbl: &str) -> String {
    format!(
        "LEFT JOIN LATERAL (SELECT * FROM {events_tbl} x WHERE x.id = i.id ORDER BY x.sequence) e ON TRUE"
    )
}

/// `AND deleted = FALSE` for soft-deleting repositories, unless deleted rows are wanted.
pub(super) fn not_deleted(repo: &Repo, include_deleted: bool) -> &'static str {
    if repo.soft_delete && !include_deleted {
        " AND deleted = FALSE"
    } else {
        ""
    }
}

/// `find_by_<column>`: at most two matching entities, so a second match is detected.
pub(crate) fn find_by(repo: &Repo, lookup: &Lookup, include_deleted: bool) -> String {
    events_of(repo, &find_by_entities(repo, lookup, include_deleted))
}

/// The entities `find_by_<column>` selects (`id`), for its statement or its tree read.
pub(crate) fn find_by_entities(repo: &Repo, lookup: &Lookup, include_deleted: bool) -> String {
    let column = &lookup.name;
    let limit = if lookup.by_id { "" } else { " LIMIT 2" };
    let select = |cond: &str| {
        format!(
            "SELECT id FROM {} WHERE {cond}{}{limit}",
            repo.tables.index,
            not_deleted(repo, include_deleted)
        )
    };
    if lookup.nullable {
        // Two branches, each with a plain index condition even in a
        // generic plan (see `equals`); only one of them can match.
        format!(
            "({}) UNION ALL ({})",
            select(&format!("{column} = $1")),
            select(&format!("{column} IS NULL AND $1 IS NULL"))
        )
    } else {
        select(&format!("{column} = $1"))
    }
}

/// `column` matches parameter `$n`; for a nullable column a NULL parameter
/// matches the NULL rows. Spelled out rather than as `col IS NOT DISTINCT
/// FROM $n`, which no b-tree index serves: PostgreSQL plans the first
/// executions of a prepared statement with the parameter's value, which
/// folds this to `col = <value>` or to `col IS NULL`, both index
/// conditions. The `$n IS NOT NULL` matters: without it a NULL value leaves
/// `NULL OR col IS NULL`, which the planner keeps as it is, and which no
/// index serves. A generic plan (PostgreSQL may switch to one after five
/// executions) cannot use the index for the OR; so where a nullable column
/// is the lookup's only filter (`find_by_<col>`, `list_for_<col>`) the
/// statement reads two branches, `col = $n` and `col IS NULL AND $n IS
/// NULL`, instead (`tests/it/list_explain.rs` checks the plans, after ten
/// executions too). This form is left for the optional filters of
/// `list_for_filters`.
pub(crate) fn equals(column: &str, n: usize, nullable: bool) -> String {
    if nullable {
        format!("(({column} = ${n} AND ${n} IS NOT NULL) OR ({column} IS NULL AND ${n} IS NULL))")
    } else {
        format!("{column} = ${n}")
    }
}

/// `find_all`: the entities whose id is in the array `$1`.
pub(crate) fn find_all(repo: &Repo, include_deleted: bool) -> String {
    events_of(repo, &find_all_entities(repo, include_deleted))
}

/// The entities `find_all` selects (`id`), for its statement or its tree read.
pub(crate) fn find_all_entities(repo: &Repo, include_deleted: bool) -> String {
    format!(
        "SELECT id FROM {} WHERE id = ANY($1){}",
        repo.tables.index,
        not_deleted(repo, include_deleted)
    )
}

/// The event insert shared by create and update: `$base..$base+3` are the
/// sequence, event_type, event and context arrays; `entity` is the CTE
/// holding the row, `at` the time expression.
fn insert_events(repo: &Repo, base: usize, at: &str) -> String {
    format!(
        "INSERT INTO {events} (id, sequence, event_type, event, context, recorded_at) \
         SELECT entity.id, s.sequence, s.event_type, s.event, s.context, {at} \
         FROM entity CROSS JOIN UNNEST(${a}::INT4[], ${b}::TEXT[], ${c}::JSONB[], ${d}::JSONB[]) \
         AS s(sequence, event_type, event, context) RETURNING 1",
        events = repo.tables.events,
        a = base,
        b = base + 1,
        c = base + 2,
        d = base + 3,
    )
}

/// `create`: `$1` id, `$2` optional time, `$3..` the created columns, then the event arrays.
pub(crate) fn create(repo: &Repo) -> String {
    create_with(repo, "")
}

/// `create`'s statement that stores nothing, and returns no row, when any
/// unique constraint of the index table already holds one of the new
/// entity's values (`ON CONFLICT DO NOTHING`; the events are inserted from
/// the index row, so none are either). `create_or_find`'s first try.
pub(crate) fn create_if_free(repo: &Repo) -> String {
    create_with(repo, " ON CONFLICT DO NOTHING")
}

/// The ids of the entities holding the new entity's id (`$1`) or the value
/// of one of its `unique` columns (`$2`, ... in declaration order among the
/// columns `create` writes that are `unique`).
pub(crate) fn key_holders(repo: &Repo) -> String {
    let keys: String = repo
        .columns
        .iter()
        .filter(|c| c.create.is_some() && c.unique)
        .enumerate()
        .map(|(i, c)| format!(" OR {} = ${}", c.name, i + 2))
        .collect();
    format!(
        "SELECT id AS \"id!: <Self as ::es_entity::__private::RepoRow>::Id\" FROM {tbl} \
         WHERE id = $1{keys} ORDER BY created_at, id",
        tbl = repo.tables.index,
    )
}

fn create_with(repo: &Repo, on_conflict: &str) -> String {
    let cols: Vec<_> = repo.columns.iter().filter(|c| c.create.is_some()).collect();
    let names: String = cols.iter().map(|c| format!(", {}", c.name)).collect();
    let params: String = (0..cols.len()).map(|i| format!(", ${}", i + 3)).collect();
    format!(
        "WITH entity AS (INSERT INTO {tbl} (id, created_at{names}) \
         VALUES ($1, COALESCE($2::TIMESTAMPTZ, NOW()){params}){on_conflict} RETURNING id, created_at), \
         inserted AS ({events}) \
         SELECT entity.created_at AS \"now!\", (SELECT COUNT(*) FROM inserted) AS \"events!\" FROM entity",
        tbl = repo.tables.index,
        events = insert_events(repo, cols.len() + 3, "entity.created_at"),
    )
}

/// `col = <value>, ...` for the updated columns; `value` gives the new
/// value of the column at a position.
fn set_from(cols: &[&Column], value: impl Fn(usize) -> String) -> String {
    let sets: Vec<_> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} = {}", c.name, value(i)))
        .collect();
    sets.join(", ")
}

/// Whether any updated column of row `old` differs from its new value, by
/// record image (`*=`, what `REFRESH MATERIALIZED VIEW CONCURRENTLY` uses):
/// byte for byte, so it needs no equality operator (`json` works), ignores
/// collations (a case-only change under a case-insensitive collation is a
/// change) and compares floats exactly whatever `extra_float_digits` says.
/// Two NULLs are the same.
///
/// Record images compare only columns of one type, and a new value has the
/// type its parameter was sent with (`TEXT` for a Rust `String`, also into a
/// `VARCHAR` column). So each pair goes through a two-element array, which
/// has one element type, the one the two values have in common; read back,
/// both sides have that type (the column's own whenever the parameter has
/// it, which sqlx's check makes the rule for the types it maps). A `CASE` or
/// `COALESCE` would give the same type on paper, but PostgreSQL 15 drops
/// their implicit relabelling (`VARCHAR` to `TEXT`) before comparing.
fn differs(cols: &[&Column], old: &str, new: impl Fn(usize) -> String) -> String {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for (i, c) in cols.iter().enumerate() {
        let pair = format!("(ARRAY[{old}.{}, {}])", c.name, new(i));
        before.push(format!("{pair}[1]"));
        after.push(format!("{pair}[2]"));
    }
    format!(
        "NOT (ROW({})::RECORD *= ROW({})::RECORD)",
        before.join(", "),
        after.join(", ")
    )
}

/// `update`: `$1` id, `$2` optional time, `$3..` the updated columns, then
/// the event arrays. Without updatable columns the row is only locked and
/// checked.
///
/// The row is rewritten only when a column value changes (record image
/// comparison, as in `update_all`); otherwise it is only locked FOR UPDATE,
/// which is what the rewrite would have done for the lock order: appending
/// events leaves an unchanged index row alone, with no new row version to
/// write, log and vacuum.
///
/// Each column parameter appears next to its column (`SET col = $n` and in
/// the array of [`differs`]), so PostgreSQL gives it the column's type, and
/// sqlx checks the Rust type against that at compile time.
pub(crate) fn update(repo: &Repo) -> String {
    let tbl = &repo.tables.index;
    let cols: Vec<_> = repo.columns.iter().filter(|c| c.update.is_some()).collect();
    if cols.is_empty() {
        return write_existing(repo, false);
    }
    let param = |i: usize| format!("${}", i + 3);
    let (sets, differs) = (set_from(&cols, param), differs(&cols, "u", param));
    let at = "COALESCE($2::TIMESTAMPTZ, NOW())";
    format!(
        "WITH changed AS (UPDATE {tbl} u SET {sets} WHERE u.id = $1 \
         AND {differs} RETURNING u.id), \
         kept AS (SELECT id FROM {tbl} WHERE id = $1 \
         AND (SELECT COUNT(*) FROM changed) = 0 FOR UPDATE), \
         entity AS (SELECT id FROM changed UNION ALL SELECT id FROM kept), \
         inserted AS ({events}){snap} \
         SELECT {at} AS \"now!\", (SELECT COUNT(*) FROM entity) AS \"found!\", \
         (SELECT COUNT(*) FROM inserted) AS \"events!\"",
        events = insert_events(repo, cols.len() + 3, at),
        snap = snapshot_upsert(repo, cols.len() + 7, at),
    )
}

/// The version of one stream (`$1` the id): the sequence of its last event,
/// NULL when it has none. Read after a lost race to say what the stream held.
pub(crate) fn stream_version(repo: &Repo) -> String {
    format!(
        "SELECT MAX(sequence) AS \"version\" FROM {} WHERE id = $1",
        repo.tables.events
    )
}

/// The library's function that reads a stream with a fresh snapshot (see
/// `migrations/20261130000100_stream_tail.sql`, and
/// `es_entity::schema::STREAM_TAIL`).
pub(crate) const STREAM_TAIL: &str = "es_entity_stream_tail";

/// `update_unchecked` (last writer wins): `$1` id, `$2` optional time, `$3`
/// the version the entity was loaded at, `$4..` the updated columns, then
/// the event_type, event and context arrays. No sequence is sent: the new
/// events go after whatever the stream holds.
///
/// The index row is locked first, as by every writer. Only then is the
/// stream read, by [`STREAM_TAIL`]: a VOLATILE function, which under READ
/// COMMITTED takes a fresh snapshot for its query. The statement's own
/// snapshot was taken before it waited for the lock, so it would miss the
/// events of a writer that held the lock and committed meanwhile; the
/// function's, taken after the lock was granted (it is called once per
/// locked row), sees them. It returns the stream's version and the events
/// stored after `$3` (the ones this writer missed), one row each. Writers
/// append only under the row lock, so the new events' sequences (the
/// version + 1, ...) are free: one statement, always.
///
/// The first new event is still inserted alone, `ON CONFLICT (id,
/// sequence) DO NOTHING`, the others only after it, and the index row only
/// after it too. That only matters when a writer broke the rule and
/// appended without the lock: then nothing is written (`landed` = 0), and
/// the caller reports it. Under REPEATABLE READ or SERIALIZABLE, where the
/// function reads with the transaction's snapshot, a stream that moved
/// since that snapshot makes PostgreSQL raise 40001 on that insert (or on
/// the lock, when the other writer changed the row).
///
/// The result has one row per missed event (LEFT JOIN columns, so there is
/// always one row). The event is decoded as `EventJson` (`query!`'s record
/// is its own type, so `Self` cannot name the repository there), parsed
/// while hydrating.
pub(crate) fn update_unchecked(repo: &Repo) -> String {
    let (tbl, events) = (&repo.tables.index, &repo.tables.events);
    let cols: Vec<_> = repo.columns.iter().filter(|c| c.update.is_some()).collect();
    let at = "COALESCE($2::TIMESTAMPTZ, NOW())";
    let param = |i: usize| format!("${}", i + 4);
    let changed = if cols.is_empty() {
        String::new()
    } else {
        format!(
            ", changed AS (UPDATE {tbl} u SET {} FROM first WHERE u.id = first.id \
             AND {} RETURNING u.id)",
            set_from(&cols, param),
            differs(&cols, "u", param),
        )
    };
    let first = cols.len() + 4;
    let insert = format!(
        "INSERT INTO {events} (id, sequence, event_type, event, context, recorded_at) SELECT"
    );
    format!(
        "WITH locked AS (SELECT id FROM {tbl} WHERE id = $1 FOR UPDATE), \
         tail AS (SELECT t.* FROM locked CROSS JOIN LATERAL \
         {STREAM_TAIL}({regclass}, locked.id, $3) AS t), \
         head AS (SELECT locked.id, COALESCE((SELECT MAX(t.version) FROM tail t), 0) AS version \
         FROM locked), \
         new AS (SELECT * FROM UNNEST(${a}::TEXT[], ${b}::JSONB[], ${c}::JSONB[]) \
         WITH ORDINALITY AS s(event_type, event, context, n)), \
         first AS ({insert} head.id, head.version + 1, s.event_type, s.event, s.context, {at} \
         FROM head CROSS JOIN new s WHERE s.n = 1 \
         ON CONFLICT (id, sequence) DO NOTHING RETURNING id), \
         rest AS ({insert} first.id, (head.version + s.n)::INT4, s.event_type, s.event, s.context, {at} \
         FROM first CROSS JOIN head CROSS JOIN new s WHERE s.n > 1 RETURNING 1){changed} \
         SELECT {at} AS \"now!\", (SELECT COUNT(*) FROM locked) AS \"found!\", \
         (SELECT COUNT(*) FROM first) AS \"landed!\", (SELECT version FROM head) AS \"version?\", \
         m.sequence AS \"sequence?\", m.event_type AS \"event_type?\", \
         m.event AS \"event?: ::es_entity::EventJson\", \
         m.context AS \"context?\", m.recorded_at AS \"recorded_at?\" \
         FROM (SELECT 1) AS one LEFT JOIN tail m ON m.sequence IS NOT NULL ORDER BY m.sequence",
        regclass = regclass(events),
        a = first,
        b = first + 1,
        c = first + 2,
    )
}

/// A table name as a `REGCLASS` literal, resolved as the statement's other
/// references to it are (through `search_path` unless qualified).
pub(crate) fn regclass(table: &str) -> String {
    format!("'{}'::REGCLASS", table.replace('\'', "''"))
}

/// `delete` (soft): as `update`, also setting `deleted = TRUE`.
pub(crate) fn delete(repo: &Repo) -> String {
    write_existing(repo, true)
}

fn write_existing(repo: &Repo, delete: bool) -> String {
    let cols: Vec<_> = repo.columns.iter().filter(|c| c.update.is_some()).collect();
    let entity = if cols.is_empty() && !delete {
        // Lock the row like an UPDATE would: every writer takes the index
        // row's lock before touching the events, so writers queue, never deadlock.
        format!(
            "SELECT id FROM {} WHERE id = $1 FOR UPDATE",
            repo.tables.index
        )
    } else {
        let mut sets: Vec<_> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{} = ${}", c.name, i + 3))
            .collect();
        if delete {
            sets.push("deleted = TRUE".to_owned());
        }
        format!(
            "UPDATE {} SET {} WHERE id = $1 RETURNING id",
            repo.tables.index,
            sets.join(", ")
        )
    };
    let at = "COALESCE($2::TIMESTAMPTZ, NOW())";
    let snap = if delete {
        String::new()
    } else {
        snapshot_upsert(repo, cols.len() + 7, at)
    };
    // A parent's soft delete marks its nested children deleted too.
    let cascade = if delete {
        nested::cascade_delete(repo)
    } else {
        String::new()
    };
    format!(
        "WITH entity AS ({entity}){cascade}, inserted AS ({events}){snap} \
         SELECT {at} AS \"now!\", (SELECT COUNT(*) FROM entity) AS \"found!\", \
         (SELECT COUNT(*) FROM inserted) AS \"events!\"",
        events = insert_events(repo, cols.len() + 3, at),
    )
}

/// `update`'s snapshot upsert (parameters from `$first`) in a snapshot
/// repository, nothing in any other.
fn snapshot_upsert(repo: &Repo, first: usize, at: &str) -> String {
    repo.snapshot_tbl()
        .map(|tbl| snapshot::upsert_one(tbl, first, at))
        .unwrap_or_default()
}

/// `es_query!`: the user's id query, its order kept through `ROW_NUMBER()`.
/// With a snapshot table, the snapshot version is the parameter after the
/// user's `args`.
pub(crate) fn es_query(
    events_tbl: &str,
    snapshot_tbl: Option<&str>,
    args: usize,
    user_sql: &str,
) -> String {
    let (columns, join) = read_parts(snapshot_tbl, events_tbl, args + 1);
    format!(
        "WITH entities AS ({user_sql}) SELECT {columns} FROM \
         (SELECT id, ROW_NUMBER() OVER () AS n FROM entities) i \
         {join} ORDER BY i.n, e.sequence",
        user_sql = user_sql.trim().trim_end_matches(';'),
    )
}

/// The events insert of a bulk write: `$first..` are the five parallel arrays of
/// `es_entity::__private::BulkEvents` (entity position, sequence,
/// event_type, event, context); `id` is the expression giving the id of the
/// entity at position `s.k`. `after` is a
/// condition whose (uncorrelated) subquery PostgreSQL evaluates in full
/// before the first insert.
fn insert_bulk_events(repo: &Repo, first: usize, id: &str, after: &str) -> String {
    format!(
        "INSERT INTO {events} (id, sequence, event_type, event, context, recorded_at) \
         SELECT {id}, s.sequence, s.event_type, s.event, s.context, COALESCE($1::TIMESTAMPTZ, NOW()) \
         FROM UNNEST(${a}::INT4[], ${b}::INT4[], ${c}::TEXT[], ${d}::JSONB[], ${e}::JSONB[]) \
         AS s(k, sequence, event_type, event, context){after} RETURNING 1",
        events = repo.tables.events,
        a = first,
        b = first + 1,
        c = first + 2,
        d = first + 3,
        e = first + 4,
    )
}

/// `UNNEST` of the parameter arrays `$first..`, one per column of `cols`
/// after the id, as the columns `c0` (the id), `c1`, ...: names of our own,
/// so no column of the user's can clash with them (or with `k`, the
/// position `WITH ORDINALITY` adds). Each array is typed by its column
/// (`COALESCE($n, ARRAY(SELECT col FROM tbl WHERE FALSE))` gives `$n` the
/// column's array type; the subquery is planned away), so sqlx checks the
/// Rust element types at compile time. (A `NULL::tbl` cast would type it
/// too, but a missing table would then be reported as a missing type.)
fn unnest_rows(repo: &Repo, cols: &[&Column], first: usize, ordinality: bool) -> String {
    let tbl = &repo.tables.index;
    let names = std::iter::once("id".to_owned()).chain(cols.iter().map(|c| c.name.to_string()));
    let (mut arrays, mut aliases) = (Vec::new(), Vec::new());
    for (i, name) in names.enumerate() {
        arrays.push(format!(
            "COALESCE(${}, ARRAY(SELECT {name} FROM {tbl} WHERE FALSE))",
            first + i
        ));
        aliases.push(format!("c{i}"));
    }
    let ordinality = if ordinality {
        aliases.push("k".to_owned());
        " WITH ORDINALITY"
    } else {
        ""
    };
    format!(
        "SELECT * FROM UNNEST({}){ordinality} AS r({})",
        arrays.join(", "),
        aliases.join(", ")
    )
}

/// `create_all`: `$1` optional time, `$2` the ids, `$3..` one array per
/// created column, then the events (see `insert_bulk_events`), which find
/// their entity's id by position in `$2` (`($2)[s.k]`, a direct subscript
/// of the parameter), as the floor's hand-written statement reads its own
/// ids array: no join of the events to the rows (an earlier shape joined
/// them on a `WITH ORDINALITY` position, two sorts and a merge join of
/// 1,000 rows each per batch of 1,000).
pub(crate) fn create_all(repo: &Repo) -> String {
    let cols: Vec<_> = repo.columns.iter().filter(|c| c.create.is_some()).collect();
    let names: String = cols.iter().map(|c| format!(", {}", c.name)).collect();
    let values: String = (1..=cols.len()).map(|i| format!(", x.c{i}")).collect();
    format!(
        "WITH rows AS ({rows}), \
         entity AS (INSERT INTO {tbl} (id, created_at{names}) \
         SELECT x.c0, COALESCE($1::TIMESTAMPTZ, NOW()){values} FROM rows x RETURNING id), \
         inserted AS ({events}) \
         SELECT COALESCE($1::TIMESTAMPTZ, NOW()) AS \"now!\", \
         (SELECT COUNT(*) FROM entity) AS \"entities!\", \
         (SELECT COUNT(*) FROM inserted) AS \"events!\"",
        rows = unnest_rows(repo, &cols, 2, false),
        tbl = repo.tables.index,
        events = insert_bulk_events(repo, cols.len() + 3, "($2)[s.k]", ""),
    )
}

/// `update_all`: as `create_all`, updating the rows: `$2` holds the batch's
/// ids, `$3..` one array per updated column, then the events, whose ids are
/// read from `$2` by position.
///
/// Every row of the batch is locked, in id order, before anything is
/// written; only rows whose updated columns actually change are rewritten:
/// appending events to an entity leaves an unchanged index row alone, with
/// no new row version to write, log and vacuum ("change" as [`differs`]
/// judges it).
///
/// A missing index row aborts the whole statement with an error naming the
/// id (a cast of a marker text to INT4 is the one way plain SQL can raise);
/// the marker is matched in `es_entity::__private::bulk_modify_error`. The
/// search for it runs only when fewer rows were locked than sent (`CASE`
/// evaluates its uncorrelated subqueries lazily) and uses `NOT IN`, which
/// PostgreSQL answers from a hash of the locked ids: the CTEs carry no
/// statistics, and a `NOT EXISTS` there was planned as a nested loop
/// comparing every pair (half a million comparisons, ~15 ms, for a batch of
/// 1,000).
pub(crate) fn update_all(repo: &Repo) -> String {
    let tbl = &repo.tables.index;
    let cols: Vec<_> = repo.columns.iter().filter(|c| c.update.is_some()).collect();
    // The lock order every writer follows: all of the batch's index rows, in
    // id order, before any row is changed or any event inserted. A writer of
    // the same entities then waits for this one and loses cleanly on the
    // `(id, sequence)` key instead of deadlocking.
    // `$2` holds the batch's ids, so each step reads the index by primary key.
    let locks = format!("SELECT id FROM {tbl} WHERE id = ANY($2) ORDER BY id FOR UPDATE");
    let new = |i: usize| format!("r.c{}", i + 1);
    let (changed, written) = if cols.is_empty() {
        (String::new(), "locks")
    } else {
        (
            format!(
                "changed AS (UPDATE {tbl} u SET {} FROM rows r \
                 WHERE u.id = r.c0 AND u.id = ANY($2) AND {} \
                 AND (SELECT COUNT(*) FROM locks) >= 0 RETURNING u.id), ",
                set_from(&cols, new),
                differs(&cols, "u", new),
            ),
            "changed",
        )
    };
    let snap = repo
        .snapshot_tbl()
        .map(|t| {
            let after = format!(" WHERE (SELECT COUNT(*) FROM {written}) >= 0");
            snapshot::upsert_all(t, cols.len() + 8, &after)
        })
        .unwrap_or_default();
    format!(
        "WITH rows AS ({rows}), \
         locks AS ({locks}), {changed}inserted AS ({events}){snap} \
         SELECT COALESCE($1::TIMESTAMPTZ, NOW()) AS \"now!\", \
         (SELECT COUNT(*) FROM inserted) AS \"events!\", \
         CASE WHEN (SELECT COUNT(*) FROM locks) < (SELECT COUNT(*) FROM rows) THEN \
         (SELECT ('es_entity: index row missing for ' || r.c0::TEXT)::INT4 FROM rows r \
         WHERE r.c0 NOT IN (SELECT id FROM locks) LIMIT 1) END AS \"missing\"",
        rows = unnest_rows(repo, &cols, 2, false),
        events = insert_bulk_events(
            repo,
            cols.len() + 3,
            "($2)[s.k]",
            &format!(" WHERE (SELECT COUNT(*) FROM {written}) >= 0"),
        ),
    )
}

/// `update_all_expecting` and `update_all_unchecked`: a batch in which
/// each entity either expects an exact version (`checked`) or appends after
/// whatever its stream holds. `$1` optional time, `$2` the batch's ids,
/// `$3..` one array per updated column (as `update_all`), then the
/// versions the entities were loaded at (`INT4[]`), whether each is checked
/// (`BOOL[]`), then the events (see `insert_bulk_events`: entity position,
/// sequence, event_type, event, context), numbered from each entity's
/// loaded version.
///
/// Every row of the batch is locked in id order first, as `update_all`
/// does. Each unchecked entity's stream is then read by [`STREAM_TAIL`]
/// (called per locked row, after its lock was granted: a fresh snapshot,
/// see [`update_unchecked`]), and its events renumbered after the version
/// read. The checked entities' events keep their numbers and are inserted
/// plainly: a moved stream breaks the `(id, sequence)` key, the whole
/// statement fails, and the error names the entity, as in `update_all`.
/// The unchecked entities' events are inserted `ON CONFLICT DO NOTHING`
/// (under REPEATABLE READ PostgreSQL turns a conflict with an event its
/// snapshot does not see into 40001); if any was skipped (a writer
/// appended without the row lock), the statement raises an error naming
/// the entity, as it does for a missing index row, so nothing is stored.
///
/// The result has one row per event an unchecked entity missed, with its
/// position `k` and the stream's version (an unchecked entity that missed
/// nothing has one row with NULL event columns), or a single row of NULLs
/// when there are none.
pub(crate) fn update_all_mixed(repo: &Repo) -> String {
    let (tbl, events) = (&repo.tables.index, &repo.tables.events);
    let cols: Vec<_> = repo.columns.iter().filter(|c| c.update.is_some()).collect();
    let locks = format!("SELECT id FROM {tbl} WHERE id = ANY($2) ORDER BY id FOR UPDATE");
    let new = |i: usize| format!("r.c{}", i + 1);
    let (changed, written) = if cols.is_empty() {
        (String::new(), "locks")
    } else {
        (
            format!(
                "changed AS (UPDATE {tbl} u SET {} FROM rows r \
                 WHERE u.id = r.c0 AND u.id = ANY($2) AND {} \
                 AND (SELECT COUNT(*) FROM locks) >= 0 RETURNING u.id), ",
                set_from(&cols, new),
                differs(&cols, "u", new),
            ),
            "changed",
        )
    };
    let p = cols.len() + 3;
    let (loaded, checked) = (p, p + 1);
    let e = p + 2;
    let at = "COALESCE($1::TIMESTAMPTZ, NOW())";
    let insert =
        format!("INSERT INTO {events} (id, sequence, event_type, event, context, recorded_at)");
    format!(
        "WITH rows AS MATERIALIZED ({rows}), \
         locks AS ({locks}), \
         tails AS MATERIALIZED (SELECT x.k::INT4 AS k, t.* FROM rows x JOIN locks l ON l.id = x.c0 \
         CROSS JOIN LATERAL {STREAM_TAIL}({regclass}, l.id, (${loaded}::INT4[])[x.k::INT4]) AS t \
         WHERE NOT (${checked}::BOOL[])[x.k::INT4]), \
         base AS (SELECT x.k::INT4 AS k, x.c0 AS id, (${loaded}::INT4[])[x.k::INT4] AS loaded, \
         (${checked}::BOOL[])[x.k::INT4] AS checked, \
         (SELECT MAX(t.version) FROM tails t WHERE t.k = x.k::INT4) AS version FROM rows x), \
         new AS (SELECT * FROM UNNEST(${e0}::INT4[], ${e1}::INT4[], ${e2}::TEXT[], ${e3}::JSONB[], ${e4}::JSONB[]) \
         AS s(k, sequence, event_type, event, context)), \
         {changed}\
         exact AS ({insert} SELECT b.id, s.sequence, s.event_type, s.event, s.context, {at} \
         FROM new s JOIN base b ON b.k = s.k WHERE b.checked \
         AND (SELECT COUNT(*) FROM {written}) >= 0 RETURNING 1), \
         free AS ({insert} SELECT b.id, (b.version + s.sequence - b.loaded)::INT4, s.event_type, s.event, \
         s.context, {at} FROM new s JOIN base b ON b.k = s.k WHERE NOT b.checked \
         AND b.version IS NOT NULL AND (SELECT COUNT(*) FROM {written}) >= 0 \
         ON CONFLICT (id, sequence) DO NOTHING RETURNING id) \
         SELECT {at} AS \"now!\", \
         (SELECT COUNT(*) FROM exact) + (SELECT COUNT(*) FROM free) AS \"events!\", \
         CASE WHEN (SELECT COUNT(*) FROM locks) < (SELECT COUNT(*) FROM rows) THEN \
         (SELECT ('es_entity: index row missing for ' || r.c0::TEXT)::INT4 FROM rows r \
         WHERE r.c0 NOT IN (SELECT id FROM locks) LIMIT 1) \
         WHEN (SELECT COUNT(*) FROM free) < (SELECT COUNT(*) FROM new s JOIN base b ON b.k = s.k \
         WHERE NOT b.checked) THEN \
         (SELECT ('es_entity: sequence taken for ' || b.id::TEXT)::INT4 FROM base b \
         WHERE NOT b.checked AND (SELECT COUNT(*) FROM new s WHERE s.k = b.k) \
         <> (SELECT COUNT(*) FROM free f WHERE f.id = b.id) LIMIT 1) END AS \"missing\", \
         m.k AS \"k?\", m.version AS \"version?\", m.sequence AS \"sequence?\", \
         m.event_type AS \"event_type?\", m.event AS \"event?: ::es_entity::EventJson\", \
         m.context AS \"context?\", m.recorded_at AS \"recorded_at?\" \
         FROM (SELECT 1) AS one LEFT JOIN tails m ON TRUE ORDER BY m.k, m.sequence",
        rows = unnest_rows(repo, &cols, 2, true),
        regclass = regclass(events),
        e0 = e,
        e1 = e + 1,
        e2 = e + 2,
        e3 = e + 3,
        e4 = e + 4,
    )
}

/// The index table's columns with their types, for the first-use check
/// (`es_entity::__private::CatalogColumn`): a domain is described by its base
/// type, the type sqlx sees on the wire.
pub(crate) fn column_types(repo: &Repo) -> String {
    format!(
        "SELECT a.attname::TEXT AS \"column!: ::std::string::String\", bt.typname::TEXT AS \"type_name!: ::std::string::String\", \
         format_type(a.atttypid, a.atttypmod) AS \"sql_type!: ::std::string::String\" \
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
         JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END \
         WHERE a.attrelid = '{}'::REGCLASS AND a.attnum > 0 AND NOT a.attisdropped",
        repo.tables.index
    )
}

/// The constraints and unique indexes of the index and events tables with
/// the columns each covers (`es_entity::__private::CatalogConstraint`), read
/// once so that a write's error is classified by constraint name alone. An
/// expression in a unique index is an empty column name.
pub(crate) fn constraints(repo: &Repo) -> String {
    let (tbl, events) = (&repo.tables.index, &repo.tables.events);
    format!(
        "SELECT t.relname::TEXT AS \"table!: ::std::string::String\", c.conname::TEXT AS \"name!: ::std::string::String\", \
         ARRAY(SELECT a.attname::TEXT FROM UNNEST(c.conkey) WITH ORDINALITY AS k(n, o) \
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o) AS \"columns!: ::std::vec::Vec<::std::string::String>\" \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
         WHERE c.conrelid IN ('{tbl}'::REGCLASS, '{events}'::REGCLASS) \
         UNION ALL \
         SELECT t.relname::TEXT, i.relname::TEXT, \
         ARRAY(SELECT COALESCE(a.attname::TEXT, '') FROM UNNEST(x.indkey::INT2[]) WITH ORDINALITY AS k(n, o) \
         LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n ORDER BY k.o) \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
         WHERE x.indisunique AND x.indrelid IN ('{tbl}'::REGCLASS, '{events}'::REGCLASS) \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid \
         AND c.conrelid = x.indrelid)"
    )
}
