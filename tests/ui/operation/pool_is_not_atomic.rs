use es_entity::AtomicOperation;

async fn write(_op: &mut impl AtomicOperation) {}

async fn caller(pool: sqlx::PgPool) {
    write(&pool).await;
}

fn main() {}
