use es_entity::IntoOneTimeExecutor;

async fn twice(op: impl IntoOneTimeExecutor<'_>) {
    let ex = op.into_executor();
    ex.execute(sqlx::query("SELECT 1")).await.unwrap();
    ex.execute(sqlx::query("SELECT 2")).await.unwrap();
}

fn main() {}
