// The options of `nested` name the child's tables and parent column: each
// bad one is reported, all in one compile.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "Order")]
pub struct Orders {
    pool: sqlx::PgPool,
    #[es_repo(nested(tbl = "Order Lines", parent_column = "order id"))]
    lines: Lines,
    #[es_repo(nested(table = "parts"))]
    parts: Parts,
}

fn main() {}
