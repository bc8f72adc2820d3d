// Types are written as strings: `entity = "User"`, not `entity = User`.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = User)]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
