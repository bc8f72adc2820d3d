// An `accessor` is an expression read from the value; an empty one is not.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", columns(name(ty = "String", update(accessor = ""))))]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
