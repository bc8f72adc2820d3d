// A bare column name has no type.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", columns(name))]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
