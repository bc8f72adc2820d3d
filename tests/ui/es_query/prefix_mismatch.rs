// A table that does not carry the given prefix is rejected.
use es_entity::es_query;

fn main() {
    let _ = es_query!(tbl_prefix = "app", "SELECT id FROM users");
}
