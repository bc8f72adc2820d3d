// `events_tbl` and `tbl_prefix` are checked like `tbl`, each at its own literal.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", events_tbl = "user events", tbl_prefix = "App")]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
