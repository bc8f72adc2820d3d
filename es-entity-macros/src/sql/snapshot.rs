//! The snapshot parts of a snapshot repository's statements
//! (`#[es_repo(snapshot)]`): the read's join and columns, and the upsert
//! CTE of `update` / `update_all`.
//!
//! Table: `id` (unique, the entity), `sequence` (the last event the
//! snapshot covers), `version` (`EsSnapshot::VERSION`), `snapshot` (JSONB),
//! `first_recorded_at` (the entity's first event's time), `recorded_at`
//! (the snapshot's last event's time).

/// The columns a snapshot read adds to the event columns: the snapshot's
/// sequence, and its JSON on the entity's first row only (the row of the
/// event right after it, or the single row of an entity without later
/// events), so it crosses the wire once per entity.
pub(super) const READ_COLUMNS: &str = ", s.sequence AS \"snapshot_sequence?\", \
     CASE WHEN e.sequence IS NULL OR e.sequence = s.sequence + 1 THEN s.snapshot END \
     AS \"snapshot?: ::es_entity::EventJson\", \
     s.first_recorded_at AS \"snapshot_first_at?\", s.recorded_at AS \"snapshot_at?\"";

/// Joins each selected entity (`i`) to its snapshot of the current version
/// (`$version`), then to its events after that snapshot (all of them
/// without one), as `events_join` does.
pub(super) fn read_join(snapshot_tbl: &str, events_tbl: &str, version: usize) -> String {
    format!(
        "LEFT JOIN {snapshot_tbl} s ON s.id = i.id AND s.version = ${version} \
         LEFT JOIN LATERAL (SELECT * FROM {events_tbl} x WHERE x.id = i.id \
         AND x.sequence > COALESCE(s.sequence, 0) ORDER BY x.sequence) e ON TRUE"
    )
}

/// The `SET` of the upsert: an older snapshot never replaces a newer one.
fn on_conflict() -> &'static str {
    "ON CONFLICT (id) DO UPDATE SET sequence = EXCLUDED.sequence, version = EXCLUDED.version, \
     snapshot = EXCLUDED.snapshot, first_recorded_at = EXCLUDED.first_recorded_at, \
     recorded_at = EXCLUDED.recorded_at WHERE t.sequence < EXCLUDED.sequence"
}

/// `update`'s snapshot CTE (`, snap AS (...)`), for the entity of the CTE
/// `entity`: `$first` its sequence, `$first+1` the version, `$first+2` the
/// snapshot (NULL: none is stored), `$first+3` the first event's time;
/// `at` the write's time. Referenced by nothing, it runs after the rest of
/// the statement, so after the index row's lock and the events' insert.
pub(super) fn upsert_one(tbl: &str, first: usize, at: &str) -> String {
    let (seq, version, snap, first_at) = (first, first + 1, first + 2, first + 3);
    format!(
        ", snap AS (INSERT INTO {tbl} AS t (id, sequence, version, snapshot, first_recorded_at, recorded_at) \
         SELECT entity.id, ${seq}::INT4, ${version}::INT4, ${snap}::JSONB, \
         COALESCE(${first_at}::TIMESTAMPTZ, {at}), {at} FROM entity WHERE ${snap}::JSONB IS NOT NULL \
         {} RETURNING 1)",
        on_conflict()
    )
}

/// `update_all`'s snapshot CTE: `$first..$first+3` the parallel arrays of
/// `es_entity::__private::snapshot::BulkSnapshots` (entity position in
/// `$2`, sequence, snapshot, first event's time), `$first+4` the version;
/// `after` the condition that orders it after the batch's locks.
pub(super) fn upsert_all(tbl: &str, first: usize, after: &str) -> String {
    let at = "COALESCE($1::TIMESTAMPTZ, NOW())";
    format!(
        ", snap AS (INSERT INTO {tbl} AS t (id, sequence, version, snapshot, first_recorded_at, recorded_at) \
         SELECT ($2)[s.k], s.sequence, ${v}::INT4, s.snapshot, COALESCE(s.first_at, {at}), {at} \
         FROM UNNEST(${a}::INT4[], ${b}::INT4[], ${c}::JSONB[], ${d}::TIMESTAMPTZ[]) \
         AS s(k, sequence, snapshot, first_at){after} {} RETURNING 1)",
        on_conflict(),
        a = first,
        b = first + 1,
        c = first + 2,
        d = first + 3,
        v = first + 4,
    )
}
