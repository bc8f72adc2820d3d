// `id` and `created_at` are in every index table; declaring them is an error.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", columns(id = "UserId", name = "String", created_at = "String"))]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
