// Without `FROM <table>` es_query! cannot find the events table.
use es_entity::es_query;

fn main() {
    let _ = es_query!("SELECT 1");
}
