// Table names go into SQL text, so only plain identifiers are accepted.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", tbl = "Users; DROP")]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
