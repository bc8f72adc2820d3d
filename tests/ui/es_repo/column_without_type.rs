// The long form of a column still needs `ty`.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", columns(name(find_by = false)))]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
