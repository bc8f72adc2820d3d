// `snapshot` is an on/off option: a value other than `true` / `false` is named.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", snapshot = "every 100")]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
