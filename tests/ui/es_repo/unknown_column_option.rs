// A misspelt column option is named, with a suggestion.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", columns(name(ty = "String", find_bi = false)))]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
