// An empty `post_persist_hook` names no method.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", post_persist_hook = "")]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
