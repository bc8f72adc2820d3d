use es_entity::AtomicOperation;

async fn write(_op: &mut impl AtomicOperation) {}

async fn caller(mut pool: sqlx::PgPool) {
    write(&mut pool).await;
}

fn main() {}
