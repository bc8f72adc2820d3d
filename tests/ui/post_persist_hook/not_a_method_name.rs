// `post_persist_hook` names a method: a keyword is not a method name.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", post_persist_hook = "fn")]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
