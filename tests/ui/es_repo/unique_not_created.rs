// `unique` marks a key `create_or_find` looks up with the new entity's
// value: a column `create` does not write has none.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(
    entity = "User",
    columns(name(ty = "String", unique, create(persist = false)))
)]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
