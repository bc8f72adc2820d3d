// The one bare flag es_query! knows is `snapshot`: any other is named.
use es_entity::es_query;

fn main() {
    let _ = es_query!(snapshots, "SELECT id FROM ledgers");
}
