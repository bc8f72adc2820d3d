// A repository must name its entity.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(columns(name = "String"))]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
