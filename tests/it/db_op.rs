//! `DbOp` / `DbOpWithTime`: commit, rollback, savepoints and cached time.

use chrono::{DateTime, TimeZone, Utc};
use es_entity::{AtomicOperation, DbOp, DbOpWithTime};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

async fn insert(conn: &mut PgConnection, id: Uuid, note: &str) {
    sqlx::query("INSERT INTO probes (id, note) VALUES ($1, $2)")
        .bind(id)
        .bind(note)
        .execute(conn)
        .await
        .expect("insert probe");
}

/// The probe's note as seen from a fresh pooled connection (committed data only).
async fn committed_note(pool: &PgPool, id: Uuid) -> Option<String> {
    sqlx::query_scalar("SELECT note FROM probes WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .expect("select probe")
}

async fn db_now(conn: &mut PgConnection) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT NOW()")
        .fetch_one(conn)
        .await
        .expect("select now")
}

fn fixed_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 2, 29, 12, 30, 0).unwrap()
}

#[tokio::test]
async fn commit_makes_writes_visible_to_other_connections() {
    let pool = es_entity_tests::pool().await;
    let id = Uuid::now_v7();
    let mut op = DbOp::init(&pool).await.unwrap();
    assert_eq!(op.maybe_now(), None);
    insert(op.as_executor(), id, "committed").await;
    assert_eq!(
        committed_note(&pool, id).await,
        None,
        "uncommitted write leaked"
    );
    op.commit().await.unwrap();
    assert_eq!(
        committed_note(&pool, id).await.as_deref(),
        Some("committed")
    );
}

#[tokio::test]
async fn dropping_an_op_rolls_back() {
    let pool = es_entity_tests::pool().await;
    let id = Uuid::now_v7();
    {
        let mut op = DbOp::init(&pool).await.unwrap();
        insert(op.as_executor(), id, "dropped").await;
    }
    assert_eq!(committed_note(&pool, id).await, None);
}

#[tokio::test]
async fn explicit_rollback_discards_writes() {
    let pool = es_entity_tests::pool().await;
    let id = Uuid::now_v7();
    let mut op = DbOp::init(&pool).await.unwrap();
    insert(op.as_executor(), id, "rolled back").await;
    op.rollback().await.unwrap();
    assert_eq!(committed_note(&pool, id).await, None);
}

#[tokio::test]
async fn nested_rollback_keeps_outer_work() {
    let pool = es_entity_tests::pool().await;
    let (before, inside, after) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut op = DbOp::init(&pool).await.unwrap();
    insert(op.as_executor(), before, "outer before").await;
    {
        let mut nested = op.begin().await.unwrap();
        insert(nested.as_executor(), inside, "nested").await;
        nested.rollback().await.unwrap();
    }
    insert(op.as_executor(), after, "outer after").await;
    op.commit().await.unwrap();

    assert_eq!(
        committed_note(&pool, before).await.as_deref(),
        Some("outer before")
    );
    assert_eq!(committed_note(&pool, inside).await, None);
    assert_eq!(
        committed_note(&pool, after).await.as_deref(),
        Some("outer after")
    );
}

#[tokio::test]
async fn dropping_a_nested_op_rolls_back_to_the_savepoint() {
    let pool = es_entity_tests::pool().await;
    let (outer, inside) = (Uuid::now_v7(), Uuid::now_v7());
    let mut op = DbOp::init(&pool).await.unwrap();
    insert(op.as_executor(), outer, "outer").await;
    {
        let mut nested = op.begin().await.unwrap();
        insert(nested.as_executor(), inside, "nested").await;
    }
    // The outer transaction is still usable after the savepoint was dropped.
    let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM probes WHERE id = ANY($1)")
        .bind(vec![outer, inside])
        .fetch_one(op.as_executor())
        .await
        .unwrap();
    assert_eq!(seen, 1);
    op.commit().await.unwrap();
    assert_eq!(committed_note(&pool, outer).await.as_deref(), Some("outer"));
    assert_eq!(committed_note(&pool, inside).await, None);
}

#[tokio::test]
async fn nested_commit_lands_only_with_the_outer_commit() {
    let pool = es_entity_tests::pool().await;

    let kept = Uuid::now_v7();
    let mut op = DbOp::init(&pool).await.unwrap();
    let mut nested = op.begin().await.unwrap();
    insert(nested.as_executor(), kept, "nested, committed").await;
    nested.commit().await.unwrap();
    assert_eq!(
        committed_note(&pool, kept).await,
        None,
        "a savepoint release is not a commit"
    );
    op.commit().await.unwrap();
    assert_eq!(
        committed_note(&pool, kept).await.as_deref(),
        Some("nested, committed")
    );

    let lost = Uuid::now_v7();
    let mut op = DbOp::init(&pool).await.unwrap();
    let mut nested = op.begin().await.unwrap();
    insert(nested.as_executor(), lost, "nested, outer rolled back").await;
    nested.commit().await.unwrap();
    op.rollback().await.unwrap();
    assert_eq!(committed_note(&pool, lost).await, None);
}

#[tokio::test]
async fn with_time_caches_the_given_time() {
    let pool = es_entity_tests::pool().await;
    let at = fixed_time();
    let id = Uuid::now_v7();
    let mut op = DbOp::init(&pool).await.unwrap().with_time(at);
    assert_eq!(op.now(), at);
    assert_eq!(AtomicOperation::maybe_now(&op), Some(at));
    sqlx::query("INSERT INTO probes (id, note, recorded_at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind("timed")
        .bind(op.now())
        .execute(op.as_executor())
        .await
        .unwrap();
    op.commit().await.unwrap();

    let recorded: DateTime<Utc> =
        sqlx::query_scalar("SELECT recorded_at FROM probes WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(recorded, at);
}

#[tokio::test]
async fn with_db_time_reads_the_transaction_clock() {
    let pool = es_entity_tests::pool().await;
    let mut op = DbOp::init(&pool)
        .await
        .unwrap()
        .with_db_time()
        .await
        .unwrap();
    // NOW() is the transaction's start time: it stays put for the whole op.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let db_time = db_now(op.as_executor()).await;
    assert_eq!(op.now(), db_time);
    assert!(op.now() <= Utc::now());
    op.rollback().await.unwrap();
}

#[tokio::test]
async fn with_db_time_keeps_a_time_already_cached() {
    let pool = es_entity_tests::pool().await;
    let at = fixed_time();
    let op: DbOp<'_> = DbOp::init(&pool).await.unwrap().with_time(at).into();
    assert_eq!(op.maybe_now(), Some(at));
    let op = op.with_db_time().await.unwrap();
    assert_eq!(
        op.now(),
        at,
        "the database clock must not replace a cached time"
    );
    op.commit().await.unwrap();
}

#[tokio::test]
async fn nested_ops_inherit_the_cached_time() {
    let pool = es_entity_tests::pool().await;
    let at = fixed_time();

    let mut timed = DbOp::init(&pool).await.unwrap().with_time(at);
    let nested: DbOpWithTime<'_> = timed.begin().await.unwrap();
    assert_eq!(nested.now(), at);
    nested.commit().await.unwrap();
    timed.rollback().await.unwrap();

    let mut plain = DbOp::init(&pool).await.unwrap();
    assert_eq!(plain.begin().await.unwrap().maybe_now(), None);
    let mut converted: DbOp<'_> = DbOp::init(&pool).await.unwrap().with_time(at).into();
    assert_eq!(converted.begin().await.unwrap().maybe_now(), Some(at));
}

#[tokio::test]
async fn db_op_with_time_commits_and_drops_like_db_op() {
    let pool = es_entity_tests::pool().await;
    let (kept, dropped) = (Uuid::now_v7(), Uuid::now_v7());

    let mut op = DbOp::init(&pool).await.unwrap().with_time(fixed_time());
    insert(op.as_executor(), kept, "kept").await;
    {
        let mut nested = op.begin().await.unwrap();
        insert(nested.as_executor(), dropped, "dropped").await;
    }
    op.commit().await.unwrap();
    assert_eq!(committed_note(&pool, kept).await.as_deref(), Some("kept"));
    assert_eq!(committed_note(&pool, dropped).await, None);
}

#[tokio::test]
async fn wraps_and_unwraps_a_sqlx_transaction() {
    let pool = es_entity_tests::pool().await;
    let id = Uuid::now_v7();
    let tx = pool.begin().await.unwrap();
    let mut op = DbOp::from(tx);
    assert_eq!(op.maybe_now(), None);
    // `tx()` exposes the transaction for plain sqlx calls.
    insert(op.tx(), id, "via sqlx transaction").await;
    let tx = op.into_tx();
    assert_eq!(committed_note(&pool, id).await, None);
    tx.commit().await.unwrap();
    assert_eq!(
        committed_note(&pool, id).await.as_deref(),
        Some("via sqlx transaction")
    );
}
