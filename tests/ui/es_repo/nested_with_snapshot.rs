// A parent's tree read loads every node's whole history; snapshots on a
// repository with nested children (or on a nested child's repository) are
// not supported yet. Both are reported, each at its own attribute.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "Order", snapshot)]
pub struct Orders {
    pool: sqlx::PgPool,
    #[es_repo(nested)]
    lines: Lines,
}

#[derive(EsRepo)]
#[es_repo(entity = "Line", snapshot, columns(order_id(ty = "OrderId", parent)))]
pub struct Lines {
    pool: sqlx::PgPool,
}

fn main() {}
