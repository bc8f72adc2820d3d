// Only one field can be the pool.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User")]
pub struct Users {
    #[es_repo(pool)]
    primary: sqlx::PgPool,
    #[es_repo(pool)]
    replica: sqlx::PgPool,
}

fn main() {}
