// `list_for(by(..))` names listing orders by column name, not by path.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "Task", columns(project(ty = "String", list_for(by(task::title)))))]
pub struct Tasks {
    pool: sqlx::PgPool,
}

fn main() {}
