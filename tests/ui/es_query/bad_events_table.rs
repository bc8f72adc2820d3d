// es_query! checks `events_tbl` as the repository derive does: it goes into
// SQL text verbatim, so it is a plain name.
use es_entity::es_query;

fn main() {
    let _ = es_query!(events_tbl = "user events; --", "SELECT id FROM users");
}
