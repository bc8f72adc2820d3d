//! `IntoOneTimeExecutor` (reads and single statements on a pool or a
//! transaction) and `AtomicOperation` (several statements, one transaction).

use chrono::{DateTime, TimeZone, Utc};
use es_entity::{AtomicOperation, DbOp, IntoOneTimeExecutor};
use sqlx::{Row, postgres::PgRow};
use uuid::Uuid;

/// One statement on whatever the caller hands in. Records the operation's
/// cached time when it has one, the database clock otherwise.
async fn insert(op: impl IntoOneTimeExecutor<'_>, id: Uuid, note: &str) -> Result<(), sqlx::Error> {
    let ex = op.into_executor();
    let at = ex.now();
    let query = sqlx::query(
        "INSERT INTO probes (id, note, recorded_at) VALUES ($1, $2, COALESCE($3, NOW()))",
    )
    .bind(id)
    .bind(note.to_owned())
    .bind(at);
    let done = ex.execute(query).await?;
    assert_eq!(done.rows_affected(), 1);
    Ok(())
}

async fn note(op: impl IntoOneTimeExecutor<'_>, id: Uuid) -> Option<String> {
    let query = sqlx::query("SELECT note FROM probes WHERE id = $1")
        .bind(id)
        .map(|row: PgRow| row.get::<String, _>("note"));
    op.into_executor().fetch_optional(query).await.unwrap()
}

async fn recorded_at(op: impl IntoOneTimeExecutor<'_>, id: Uuid) -> DateTime<Utc> {
    let query = sqlx::query("SELECT recorded_at FROM probes WHERE id = $1")
        .bind(id)
        .map(|row: PgRow| row.get::<DateTime<Utc>, _>(0));
    op.into_executor().fetch_one(query).await.unwrap()
}

async fn notes(op: impl IntoOneTimeExecutor<'_>, ids: &[Uuid]) -> Vec<String> {
    let query = sqlx::query("SELECT note FROM probes WHERE id = ANY($1) ORDER BY note")
        .bind(ids.to_vec())
        .map(|row: PgRow| row.get::<String, _>(0));
    op.into_executor().fetch_all(query).await.unwrap()
}

fn executor_now<'c>(op: impl IntoOneTimeExecutor<'c>) -> Option<DateTime<Utc>> {
    op.into_executor().now()
}

fn fixed_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 7, 1, 8, 0, 0).unwrap()
}

#[tokio::test]
async fn accepts_a_pool() {
    let pool = es_entity_tests::pool().await;
    let id = Uuid::now_v7();
    assert_eq!(note(&pool, id).await, None);
    insert(&pool, id, "pool").await.unwrap();
    assert_eq!(note(&pool, id).await.as_deref(), Some("pool"));
    assert_eq!(notes(&pool, &[id]).await, ["pool"]);
}

#[tokio::test]
async fn accepts_a_sqlx_transaction() {
    let pool = es_entity_tests::pool().await;
    let id = Uuid::now_v7();
    let mut tx = pool.begin().await.unwrap();
    insert(&mut tx, id, "sqlx tx").await.unwrap();
    assert_eq!(note(&mut tx, id).await.as_deref(), Some("sqlx tx"));
    assert_eq!(
        note(&pool, id).await,
        None,
        "the pool must not see uncommitted rows"
    );
    tx.commit().await.unwrap();
    assert_eq!(note(&pool, id).await.as_deref(), Some("sqlx tx"));
}

#[tokio::test]
async fn accepts_a_db_op() {
    let pool = es_entity_tests::pool().await;
    let id = Uuid::now_v7();
    let mut op = DbOp::init(&pool).await.unwrap();
    insert(&mut op, id, "db op").await.unwrap();
    assert_eq!(note(&mut op, id).await.as_deref(), Some("db op"));
    assert_eq!(note(&pool, id).await, None);
    op.rollback().await.unwrap();
    assert_eq!(note(&pool, id).await, None);
}

#[tokio::test]
async fn accepts_a_db_op_with_time_and_records_its_time() {
    let pool = es_entity_tests::pool().await;
    let id = Uuid::now_v7();
    let mut op = DbOp::init(&pool).await.unwrap().with_time(fixed_time());
    insert(&mut op, id, "timed op").await.unwrap();
    assert_eq!(recorded_at(&mut op, id).await, fixed_time());
    op.commit().await.unwrap();
    assert_eq!(recorded_at(&pool, id).await, fixed_time());
}

#[tokio::test]
async fn writes_without_a_cached_time_use_the_database_clock() {
    let pool = es_entity_tests::pool().await;
    let id = Uuid::now_v7();
    let mut op = DbOp::init(&pool).await.unwrap();
    insert(&mut op, id, "untimed op").await.unwrap();
    let tx_start: DateTime<Utc> = sqlx::query_scalar("SELECT NOW()")
        .fetch_one(op.as_executor())
        .await
        .unwrap();
    assert_eq!(recorded_at(&mut op, id).await, tx_start);
    op.rollback().await.unwrap();
}

#[tokio::test]
async fn now_is_carried_only_by_timed_operations() {
    let pool = es_entity_tests::pool().await;
    assert_eq!(executor_now(&pool), None);

    let mut tx = pool.begin().await.unwrap();
    assert_eq!(executor_now(&mut tx), None);

    let mut op = DbOp::init(&pool).await.unwrap();
    assert_eq!(executor_now(&mut op), None);

    let mut timed = DbOp::init(&pool).await.unwrap().with_time(fixed_time());
    assert_eq!(executor_now(&mut timed), Some(fixed_time()));
    let mut nested = timed.begin().await.unwrap();
    assert_eq!(executor_now(&mut nested), Some(fixed_time()));

    let mut back: DbOp<'_> = DbOp::init(&pool)
        .await
        .unwrap()
        .with_time(fixed_time())
        .into();
    assert_eq!(executor_now(&mut back), Some(fixed_time()));

    let mut db_timed = DbOp::init(&pool)
        .await
        .unwrap()
        .with_db_time()
        .await
        .unwrap();
    let expected = db_timed.now();
    assert_eq!(executor_now(&mut db_timed), Some(expected));
}

/// Several statements that must land together. `&mut *op` reborrows the
/// operation so each statement can take it as a one-time executor.
async fn insert_pair(
    op: &mut impl AtomicOperation,
    first: Uuid,
    second: Uuid,
) -> Result<(), sqlx::Error> {
    insert(&mut *op, first, "pair: first").await?;
    insert(&mut *op, second, "pair: second").await?;
    sqlx::query("UPDATE probes SET note = note || ' (paired)' WHERE id = ANY($1)")
        .bind(vec![first, second])
        .execute(op.as_executor())
        .await?;
    Ok(())
}

#[tokio::test]
async fn atomic_operation_runs_statements_in_one_transaction() {
    let pool = es_entity_tests::pool().await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());

    let mut op = DbOp::init(&pool).await.unwrap();
    insert_pair(&mut op, a, b).await.unwrap();
    assert!(notes(&pool, &[a, b]).await.is_empty());
    op.commit().await.unwrap();
    assert_eq!(
        notes(&pool, &[a, b]).await,
        ["pair: first (paired)", "pair: second (paired)"]
    );

    let (c, d) = (Uuid::now_v7(), Uuid::now_v7());
    let mut tx = pool.begin().await.unwrap();
    insert_pair(&mut tx, c, d).await.unwrap();
    tx.rollback().await.unwrap();
    assert!(notes(&pool, &[c, d]).await.is_empty());

    let (e, f) = (Uuid::now_v7(), Uuid::now_v7());
    let mut timed = DbOp::init(&pool).await.unwrap().with_time(fixed_time());
    insert_pair(&mut timed, e, f).await.unwrap();
    timed.commit().await.unwrap();
    assert_eq!(recorded_at(&pool, e).await, fixed_time());
    assert_eq!(recorded_at(&pool, f).await, fixed_time());
}

#[tokio::test]
async fn a_failing_statement_takes_the_whole_operation_down() {
    let pool = es_entity_tests::pool().await;
    let (first, taken) = (Uuid::now_v7(), Uuid::now_v7());
    insert(&pool, taken, "already there").await.unwrap();

    let mut op = DbOp::init(&pool).await.unwrap();
    let err = insert_pair(&mut op, first, taken).await.unwrap_err();
    let code = err
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned());
    assert_eq!(
        code.as_deref(),
        Some("23505"),
        "expected a unique violation, got {err}"
    );
    drop(op);
    assert_eq!(
        note(&pool, first).await,
        None,
        "the first insert must roll back too"
    );
    assert_eq!(note(&pool, taken).await.as_deref(), Some("already there"));
}
