// `list_by` is a bare word.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "Task", columns(title(ty = "String", list_by = "yes")))]
pub struct Tasks {
    pool: sqlx::PgPool,
}

fn main() {}
