// The only delete mode is "soft".
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "Task", delete = "hard")]
pub struct Tasks {
    pool: sqlx::PgPool,
}

fn main() {}
