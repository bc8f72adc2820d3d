// A repository is a struct with named fields (one holds the pool).
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User")]
pub struct Users(sqlx::PgPool);

fn main() {}
