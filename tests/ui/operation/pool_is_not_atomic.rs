use es_entity::AtomicOperation;

async fn write(_op: &mut impl AtomicOperation) {}

async fn caller(pool: &mut sqlx::PgPool) {
    write(pool).await;
}

fn main() {}
