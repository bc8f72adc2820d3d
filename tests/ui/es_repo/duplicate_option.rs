// An option given twice is reported at its second occurrence.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", entity = "Member")]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
