// Array columns are refused: bulk writes send each column as one array.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", columns(tags = "Vec<String>"))]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
