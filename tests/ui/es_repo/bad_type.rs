// Types are written as strings; one that does not parse is reported at its literal.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", id = "User Id", columns(name = "Vec<String", age(ty = "[u8")))]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
