// `tbl_prefix` is checked like a table name.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", tbl_prefix = "App")]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
