//! `feed_after`: the events of one events table in feed order.

use crate::model::repo::Repo;

/// At most `$3` events after the checkpoint `($1, $2)` (`transaction_id` as a
/// number, `position`), of transactions older than every running one
/// (`pg_snapshot_xmin` of the statement's snapshot, the horizon), ordered
/// by `(transaction_id, position)`.
///
/// The horizon is joined to the events with a LEFT JOIN, so an empty read
/// still returns it (one row whose event columns are `NULL`). `xid8` has no
/// sqlx mapping: it is read as `::TEXT::BIGINT` and the checkpoint is bound
/// as a `BIGINT` and cast back with `::TEXT::XID8`. The row comparison and
/// the bound on `transaction_id` are answered by the index on
/// `(transaction_id, position)`.
pub(crate) fn feed_after(repo: &Repo) -> String {
    format!(
        "WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin) \
         SELECT h.xmin::TEXT::BIGINT AS \"horizon!\", \
         e.id AS \"entity_id?: <Self as ::es_entity::__private::RepoRow>::Id\", \
         e.sequence AS \"sequence?\", e.position AS \"position?\", \
         e.transaction_id::TEXT::BIGINT AS \"transaction_id?\", e.event_type AS \"event_type?\", \
         e.event AS \"event?: <Self as ::es_entity::__private::RepoRow>::Event\", \
         e.context AS \"context?\", e.recorded_at AS \"recorded_at?\" \
         FROM horizon h LEFT JOIN LATERAL (SELECT * FROM {events} x \
         WHERE x.transaction_id < h.xmin \
         AND (x.transaction_id, x.position) > ($1::BIGINT::TEXT::XID8, $2::BIGINT) \
         ORDER BY x.transaction_id, x.position LIMIT $3) e ON TRUE \
         ORDER BY e.transaction_id, e.position",
        events = repo.tables.events,
    )
}

/// The `(transaction_id, position)` of one event, `$1` the entity's id and
/// `$2` its sequence (answered by the `(id, sequence)` key).
pub(crate) fn feed_checkpoint_of(repo: &Repo) -> String {
    format!(
        "SELECT transaction_id::TEXT::BIGINT AS \"transaction_id!\", position AS \"position!\" \
         FROM {events} WHERE id = $1 AND sequence = $2",
        events = repo.tables.events,
    )
}
