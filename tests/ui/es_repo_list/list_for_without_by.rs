// `list_for(...)` takes `by(...)`.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "Task", columns(project(ty = "String", list_for(order(title)))))]
pub struct Tasks {
    pool: sqlx::PgPool,
}

fn main() {}
