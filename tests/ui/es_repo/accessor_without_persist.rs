// An accessor is never read when the column is not persisted.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(
    entity = "User",
    columns(name(ty = "String", update(accessor = "display_name()", persist = false)))
)]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
