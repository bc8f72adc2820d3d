// `list_for(by(x))` must name a `list_by` column (or `id` / `created_at`).
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(
    entity = "Task",
    columns(title = "String", project(ty = "String", list_for(by(created_at, title))))
)]
pub struct Tasks {
    pool: sqlx::PgPool,
}

fn main() {}
