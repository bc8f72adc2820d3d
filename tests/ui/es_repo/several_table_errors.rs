// Every table-name error is reported, together with the other errors of the derive.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(tbl = "Bad Table", events_tbl = "bad-events", tbl_prefix = "App")]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
