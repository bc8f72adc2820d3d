// A misspelt repository option is named, with a suggestion.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", tbl_prefx = "app")]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
