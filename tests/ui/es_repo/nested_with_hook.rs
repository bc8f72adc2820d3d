// The children's writes run after the parent's statement in one
// transaction; a post-persist hook in between is not supported yet.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "Order", post_persist_hook = "project")]
pub struct Orders {
    pool: sqlx::PgPool,
    #[es_repo(nested)]
    lines: Lines,
}

fn main() {}
