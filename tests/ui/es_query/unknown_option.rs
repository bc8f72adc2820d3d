// An option es_query! does not know is named in the error.
use es_entity::es_query;

fn main() {
    let _ = es_query!(tbl_prefx = "app", "SELECT id FROM app_users");
}
