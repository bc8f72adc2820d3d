// Without a field named `pool` or marked `#[es_repo(pool)]` there is nothing to query with.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User")]
pub struct Users {
    db: sqlx::PgPool,
}

fn main() {}
