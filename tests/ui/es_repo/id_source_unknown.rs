// `id(source = ...)` is "repo" or "caller"; another value is reported at it.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", id(source = "database"))]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
