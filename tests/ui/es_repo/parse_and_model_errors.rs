// Errors darling finds while parsing (an unknown key, a value of the wrong
// kind, an unknown column option) and errors the model finds (a bad table
// name, an implicit column, a missing pool field) come in one compile.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(
    entity = "User",
    tbl_prefx = "app",
    feed = "yes",
    tbl = "Users",
    columns(id = "UserId", name(ty = "String", find_bi = false), email = "String")
)]
pub struct Users {
    db: sqlx::PgPool,
}

fn main() {}
