// An es_query! option given twice is reported at the second one.
use es_entity::es_query;

fn main() {
    let _ = es_query!(tbl_prefix = "app", tbl_prefix = "app", "SELECT id FROM app_users");
}
