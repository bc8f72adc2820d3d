// `entity` names the entity type by its path; a reference type is not one.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "&User")]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
