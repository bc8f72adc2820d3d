// A child's `parent` column is how its parent's tree read finds it: the
// child's `create` must write it.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(
    entity = "Line",
    columns(order_id(ty = "OrderId", parent, create(persist = false)))
)]
pub struct Lines {
    pool: sqlx::PgPool,
}

fn main() {}
