// A column declared twice is reported at its second declaration.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", columns(name = "String", email = "String", name(ty = "String")))]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
