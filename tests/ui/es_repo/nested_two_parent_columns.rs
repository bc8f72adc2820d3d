// A nested child has one parent: one `parent` column.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(
    entity = "Line",
    columns(order_id(ty = "OrderId", parent), cart_id(ty = "CartId", parent))
)]
pub struct Lines {
    pool: sqlx::PgPool,
}

fn main() {}
