// The `pool` field marker is on or off; a list there says what to write.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", columns(name = "String"))]
pub struct Users {
    #[es_repo(pool(main))]
    pool: sqlx::PgPool,
}

fn main() {}
