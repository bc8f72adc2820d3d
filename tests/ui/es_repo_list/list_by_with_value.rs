// `list_by` is on or off: the bare word, or `= true` / `= false`; a string is named as such.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "Task", columns(title(ty = "String", list_by = "yes")))]
pub struct Tasks {
    pool: sqlx::PgPool,
}

fn main() {}
