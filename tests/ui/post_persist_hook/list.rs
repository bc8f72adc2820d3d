// `post_persist_hook` takes the method's name as a string, not a list.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", post_persist_hook(project))]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
