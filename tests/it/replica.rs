//! Reads on a streaming replica. `bash .ci/replica` starts a primary and a
//! replica streaming from it (two PostgreSQL servers of their own, on spare
//! ports), points `DATABASE_URL` at the primary and `ES_ENTITY_REPLICA_URL`
//! at the same database on the replica, and runs these tests (they are
//! ignored otherwise) one at a time: one of them pauses the replica's
//! replay.

use std::time::Duration;

use es_entity::*;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::book_list::{NewTask, Task, Tasks};

/// How long a test waits for the replica to catch up.
const CATCH_UP: Duration = Duration::from_secs(30);

fn replica_url() -> String {
    std::env::var("ES_ENTITY_REPLICA_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| {
            panic!(
                "ES_ENTITY_REPLICA_URL is not set: `bash .ci/replica` starts a replica and sets it"
            )
        })
}

// ANCHOR: pools
/// The replica's pool: another server, the same database, the same
/// migrations (replicated, never run there).
async fn replica_pool(url: &str) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(5)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
}
// ANCHOR_END: pools

// ANCHOR: lsn
/// The end of the primary's WAL: every transaction committed before this
/// call is at or before it. Read it after a write whose effect a later
/// read must see, and hand it to that read.
pub async fn primary_position(primary: &PgPool) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
        .fetch_one(primary)
        .await
}

/// Whether the replica has replayed the primary's WAL up to `position`
/// (always true on a server that is not a replica).
pub async fn replica_has_replayed(replica: &PgPool, position: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= $1::pg_lsn")
        .bind(position)
        .fetch_one(replica)
        .await
}

/// Waits up to `within` for the replica to replay up to `position`; false
/// if it has not by then (read from the primary instead).
pub async fn wait_for_replica(
    replica: &PgPool,
    position: &str,
    within: Duration,
) -> Result<bool, sqlx::Error> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if replica_has_replayed(replica, position).await? {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
// ANCHOR_END: lsn

/// The primary (the harness's pool) and the replica, after checking that
/// they are what they claim: the replica is in recovery and the primary
/// streams to it.
async fn primary_and_replica() -> (PgPool, PgPool) {
    let primary = es_entity_tests::pool().await; // created and migrated
    let position = primary_position(&primary).await.unwrap();
    let url = replica_url();
    // The database was created on the primary: wait until the replica has
    // it before connecting to it.
    let deadline = tokio::time::Instant::now() + CATCH_UP;
    let replica = loop {
        match replica_pool(&url).await {
            Ok(pool) => break pool,
            Err(e) if tokio::time::Instant::now() > deadline => {
                panic!("cannot connect to the replica: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    assert!(
        wait_for_replica(&replica, &position, CATCH_UP)
            .await
            .unwrap()
    );

    let in_recovery = "SELECT pg_is_in_recovery()";
    let replica_in_recovery: bool = sqlx::query_scalar(in_recovery)
        .fetch_one(&replica)
        .await
        .unwrap();
    let primary_in_recovery: bool = sqlx::query_scalar(in_recovery)
        .fetch_one(&primary)
        .await
        .unwrap();
    assert!(replica_in_recovery && !primary_in_recovery);
    let streaming: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
            .fetch_one(&primary)
            .await
            .unwrap();
    assert_eq!(streaming, 1, "the primary streams to one replica");
    (primary, replica)
}

#[tokio::test]
#[ignore = "needs a streaming replica: run by `bash .ci/replica`"]
async fn finds_and_listings_read_from_a_replica() -> TestResult {
    let (primary, replica) = primary_and_replica().await;
    let project = crate::book_list::project();
    let existing = tasks_on(&primary, &project, &["b", "c", "d"]).await?;
    let position = primary_position(&primary).await?;
    assert!(wait_for_replica(&replica, &position, CATCH_UP).await?);
    let id = existing[0].id;
    let ids: Vec<_> = existing.iter().map(|t| t.id).collect();

    // ANCHOR: routing
    // The repository holds the primary's pool: its writes, and the reads
    // without `_in_op`, go there.
    let tasks = Tasks::new(primary.clone());
    // Every `_in_op` read takes any executor, and the replica's pool is one.
    let task = tasks.find_by_id_in_op(&replica, id).await?;
    let page = tasks
        .list_for_project_by_title_in_op(
            &replica,
            project.clone(),
            PaginatedQueryArgs::first(2),
            ListDirection::Ascending,
        )
        .await?;
    // Or a second value of the repository, on the replica's pool, for code
    // that only reads.
    let replica_tasks = Tasks::new(replica.clone());
    let many = replica_tasks.find_all::<Task>(&ids).await?;
    // ANCHOR_END: routing
    assert_eq!(task.title, "b");
    assert_eq!(many.len(), 3);
    let mut titles: Vec<_> = page.entities.iter().map(|t| t.title.clone()).collect();
    let mut next = page.into_next_query();
    while let Some(args) = next {
        let page = replica_tasks
            .list_for_project_by_title(project.clone(), args, ListDirection::Ascending)
            .await?;
        titles.extend(page.entities.iter().map(|t| t.title.clone()));
        next = page.into_next_query();
    }
    assert_eq!(titles, ["b", "c", "d"]);
    // A read transaction on the replica: one snapshot for several reads.
    let mut tx = replica.begin().await?;
    assert_eq!(tasks.find_by_id_in_op(&mut tx, ids[2]).await?.title, "d");
    tx.commit().await?;

    // ANCHOR: read_your_writes
    let mut task = tasks.find_by_id(id).await?; // from the primary, to write
    task.assign("ada");
    tasks.update(&mut task).await?;
    let written = primary_position(&primary).await?;
    // ... later, a read that must see that write:
    let seen = if wait_for_replica(&replica, &written, Duration::from_millis(500)).await? {
        tasks.find_by_id_in_op(&replica, id).await?
    } else {
        tasks.find_by_id(id).await? // the replica lags: ask the primary
    };
    assert_eq!(seen.assignee.as_deref(), Some("ada"));
    // ANCHOR_END: read_your_writes
    Ok(())
}

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn tasks_on(
    primary: &PgPool,
    project: &str,
    titles: &[&str],
) -> Result<Vec<Task>, Box<dyn std::error::Error>> {
    let tasks = Tasks::new(primary.clone());
    let mut out = Vec::new();
    for title in titles {
        out.push(tasks.create(NewTask::new(project, title, None)).await?);
    }
    Ok(out)
}

/// Replay paused, the replica is a consistent but old snapshot: a new
/// entity is not there, an updated one is there in its old version, and a
/// command run on that stale copy loses to the newer events on the primary.
#[tokio::test]
#[ignore = "needs a streaming replica: run by `bash .ci/replica`"]
async fn a_lagging_replica_serves_old_versions_until_it_replays() -> TestResult {
    let (primary, replica) = primary_and_replica().await;
    let tasks = Tasks::new(primary.clone());
    let project = crate::book_list::project();
    let old = tasks.create(NewTask::new(&project, "older", None)).await?;
    let position = primary_position(&primary).await?;
    assert!(wait_for_replica(&replica, &position, CATCH_UP).await?);

    pause_replay(&replica).await;
    let mut latest = tasks.find_by_id(old.id).await?;
    latest.assign("grace");
    tasks.update(&mut latest).await?;
    let new = tasks.create(NewTask::new(&project, "newer", None)).await?;
    let position = primary_position(&primary).await?;

    let outcome = async {
        assert!(!replica_has_replayed(&replica, &position).await?);
        // ANCHOR: stale
        // Just written on the primary, not yet on the replica:
        let missing = tasks.find_by_id_in_op(&replica, new.id).await;
        assert!(matches!(missing, Err(e) if e.was_not_found()));
        let mut stale = tasks.find_by_id_in_op(&replica, old.id).await?;
        assert_eq!(stale.assignee, None); // the primary has "grace"
        // A command on a stale copy is refused by the optimistic check when
        // it is saved on the primary: load for a write from the primary.
        stale.assign("ada");
        let lost = tasks.update(&mut stale).await.unwrap_err();
        assert!(lost.was_concurrent_modification());
        // ANCHOR_END: stale
        let page = tasks
            .list_for_project_by_title_in_op(
                &replica,
                project.clone(),
                PaginatedQueryArgs::first(10),
                ListDirection::Ascending,
            )
            .await?;
        let titles: Vec<_> = page.entities.iter().map(|t| t.title.as_str()).collect();
        assert_eq!(titles, ["older"]);
        TestResult::Ok(())
    }
    .await;
    resume_replay(&replica).await;
    outcome?;

    assert!(wait_for_replica(&replica, &position, CATCH_UP).await?);
    assert_eq!(
        tasks
            .find_by_id_in_op(&replica, old.id)
            .await?
            .assignee
            .as_deref(),
        Some("grace")
    );
    assert_eq!(
        tasks.find_by_id_in_op(&replica, new.id).await?.title,
        "newer"
    );
    Ok(())
}

/// A replica refuses writes: a write routed there by mistake fails with
/// SQLSTATE 25006 and writes nothing.
#[tokio::test]
#[ignore = "needs a streaming replica: run by `bash .ci/replica`"]
async fn a_replica_refuses_writes() {
    let (_primary, replica) = primary_and_replica().await;
    let tasks = Tasks::new(replica.clone());
    let err = tasks
        .create(NewTask::new(&crate::book_list::project(), "nowhere", None))
        .await
        .unwrap_err();
    let CreateError::Sqlx(sqlx_err) = &err else {
        panic!("expected a database error, got {err:?}")
    };
    let db = sqlx_err.as_database_error().expect("a server error");
    assert_eq!(db.code().as_deref(), Some("25006"), "{err}");
    // The create is one `WITH ... INSERT ... SELECT` statement, named by
    // its top level.
    assert_eq!(
        db.message(),
        "cannot execute SELECT in a read-only transaction"
    );
    assert!(err.to_string().starts_with("creating Task: "), "{err}");
    println!("a write on the replica: {err}");
}

async fn pause_replay(replica: &PgPool) {
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(replica)
        .await
        .unwrap();
    for _ in 0..1000 {
        let state: String = sqlx::query_scalar("SELECT pg_get_wal_replay_pause_state()")
            .fetch_one(replica)
            .await
            .unwrap();
        if state == "paused" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the replica did not pause its replay");
}

async fn resume_replay(replica: &PgPool) {
    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(replica)
        .await
        .unwrap();
}
