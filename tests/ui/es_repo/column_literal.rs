// A column is `name = "Type"` or `name(ty = "Type", ...)`, not a bare string.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", columns("name"))]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
