// A column is named by one identifier, not a path.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", columns(profile::name = "String"))]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
