//! Code shown in book/src/transactions.md. Keep the ANCHOR markers in place.

use chrono::{DateTime, TimeZone, Utc};
use es_entity::{AtomicOperation, DbOp, IntoOneTimeExecutor};
use sqlx::{Row, postgres::PgRow};
use uuid::Uuid;

// ANCHOR: read
/// Reads take `impl IntoOneTimeExecutor`: a `&PgPool` or an open transaction.
async fn find_note(
    op: impl IntoOneTimeExecutor<'_>,
    id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    let query = sqlx::query("SELECT note FROM probes WHERE id = $1")
        .bind(id)
        .map(|row: PgRow| row.get::<String, _>("note"));
    op.into_executor().fetch_optional(query).await
}
// ANCHOR_END: read

// ANCHOR: write
/// Writes take `&mut impl AtomicOperation`: never a bare pool.
async fn record(op: &mut impl AtomicOperation, id: Uuid, note: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO probes (id, note, recorded_at) VALUES ($1, $2, COALESCE($3, NOW()))")
        .bind(id)
        .bind(note.to_owned())
        .bind(op.maybe_now()) // the operation's time, if it has one
        .execute(op.as_executor())
        .await?;
    Ok(())
}
// ANCHOR_END: write

#[tokio::test]
async fn pool_and_transaction() -> Result<(), crate::feed::BoxError> {
    let pool = es_entity_tests::pool().await;
    // ANCHOR: op
    let id = Uuid::now_v7();
    let mut op = DbOp::init(&pool).await?;
    record(&mut op, id, "hello").await?;

    // The transaction sees its own write; other connections do not, yet.
    assert_eq!(find_note(&mut op, id).await?.as_deref(), Some("hello"));
    assert_eq!(find_note(&pool, id).await?, None);

    op.commit().await?;
    assert_eq!(find_note(&pool, id).await?.as_deref(), Some("hello"));
    // ANCHOR_END: op
    Ok(())
}

#[tokio::test]
async fn nested_operations() -> Result<(), crate::feed::BoxError> {
    let pool = es_entity_tests::pool().await;
    // ANCHOR: nested
    let (kept, undone) = (Uuid::now_v7(), Uuid::now_v7());
    let mut op = DbOp::init(&pool).await?;
    record(&mut op, kept, "outer").await?;

    let mut attempt = op.begin().await?; // SAVEPOINT
    record(&mut attempt, undone, "inner").await?;
    attempt.rollback().await?; // back to the savepoint; `op` goes on

    op.commit().await?;
    assert_eq!(find_note(&pool, kept).await?.as_deref(), Some("outer"));
    assert_eq!(find_note(&pool, undone).await?, None);
    // ANCHOR_END: nested
    Ok(())
}

#[tokio::test]
async fn one_time_for_the_whole_operation() -> Result<(), crate::feed::BoxError> {
    let pool = es_entity_tests::pool().await;
    // ANCHOR: time
    let at: DateTime<Utc> = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());

    let mut op = DbOp::init(&pool).await?.with_time(at);
    record(&mut op, a, "first").await?;
    record(&mut op, b, "second").await?;
    op.commit().await?;

    let stamps: Vec<DateTime<Utc>> =
        sqlx::query_scalar("SELECT recorded_at FROM probes WHERE id = ANY($1)")
            .bind(vec![a, b])
            .fetch_all(&pool)
            .await?;
    assert_eq!(stamps, [at, at]);
    // ANCHOR_END: time
    Ok(())
}

#[tokio::test]
async fn database_time() -> Result<(), crate::feed::BoxError> {
    let pool = es_entity_tests::pool().await;
    // ANCHOR: db_time
    let op = DbOp::init(&pool).await?.with_db_time().await?;
    let now = op.now(); // read once from PostgreSQL, reused by every write
    op.commit().await?;
    // ANCHOR_END: db_time
    assert!(now <= Utc::now() + chrono::Duration::seconds(5));
    Ok(())
}
