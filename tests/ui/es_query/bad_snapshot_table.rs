// `snapshot_tbl` is checked like the other table names.
use es_entity::es_query;

fn main() {
    let _ = es_query!(snapshot_tbl = "Ledger Snapshots", "SELECT id FROM ledgers");
}
