//! The `es_projections` table: one row per projection name holding its
//! checkpoint, and the advisory lock that lets one runner per name work.
//!
//! These statements run against a table of ours, not one a derive knows,
//! so they are fixed strings checked by the test suite rather than by
//! `sqlx::query!` in a user's build (which would need the table in the
//! user's database at compile time).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::Projection;
use super::error::{ProjectionError, WaitError};
use crate::feed::FeedCheckpoint;
use crate::operation::CommitError;
use crate::operation::DbOp;

/// The key namespace of the runners' advisory locks: the lock is
/// `pg_try_advisory_lock(hashtextextended('es_entity.projection:' || name, 0))`.
const LOCK: &str =
    "SELECT pg_try_advisory_lock(hashtextextended('es_entity.projection:' || $1, 0))";

const ENSURE: &str = "INSERT INTO es_projections (name, transaction_id, position) \
     VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING";

const LOCK_ROW: &str =
    "SELECT transaction_id, position FROM es_projections WHERE name = $1 FOR UPDATE";

const SAVE: &str = "UPDATE es_projections SET transaction_id = $2, position = $3, \
     events_processed = events_processed + $4, updated_at = NOW() WHERE name = $1";

const RESET: &str = "UPDATE es_projections SET transaction_id = NULL, position = NULL, \
     events_processed = 0, updated_at = NOW() WHERE name = $1";

const STATUS: &str = "SELECT transaction_id, position, events_processed, updated_at \
     FROM es_projections WHERE name = $1";

const HORIZON: &str = "SELECT pg_snapshot_xmin(pg_current_snapshot())::TEXT::BIGINT";

fn checkpoint(tx: Option<i64>, position: Option<i64>) -> Option<FeedCheckpoint> {
    Some(FeedCheckpoint {
        transaction_id: tx?,
        position: position?,
    })
}

/// Tries to take the runner's lock for `name` on `conn` (a session lock:
/// held until released or the connection ends).
pub(super) async fn try_lock(conn: &mut PgConnection, name: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar::<_, bool>(LOCK)
        .bind(name)
        .fetch_one(conn)
        .await
}

/// A checkpoint before every event of transactions that start from now on
/// and after every event visible now.
pub(super) async fn now(conn: &mut PgConnection) -> Result<FeedCheckpoint, sqlx::Error> {
    let horizon = sqlx::query_scalar::<_, i64>(HORIZON)
        .fetch_one(conn)
        .await?;
    Ok(FeedCheckpoint {
        transaction_id: horizon,
        position: 0,
    })
}

/// Creates `name`'s row at `start` when it does not exist yet.
pub(super) async fn ensure(
    conn: &mut PgConnection,
    name: &str,
    start: Option<FeedCheckpoint>,
) -> Result<(), sqlx::Error> {
    sqlx::query(ENSURE)
        .bind(name)
        .bind(start.map(|c| c.transaction_id))
        .bind(start.map(|c| c.position))
        .execute(conn)
        .await?;
    Ok(())
}

/// Locks `name`'s row for the rest of the transaction and reads its
/// checkpoint.
pub(super) async fn lock_row(
    conn: &mut PgConnection,
    name: &str,
) -> Result<Option<FeedCheckpoint>, sqlx::Error> {
    let (tx, pos) = sqlx::query_as::<_, (Option<i64>, Option<i64>)>(LOCK_ROW)
        .bind(name)
        .fetch_one(conn)
        .await?;
    Ok(checkpoint(tx, pos))
}

/// `name`'s stored checkpoint, read without a lock.
pub(super) async fn status_on(
    conn: &mut PgConnection,
    name: &str,
) -> Result<Option<FeedCheckpoint>, sqlx::Error> {
    let row = sqlx::query_as::<_, (Option<i64>, Option<i64>, i64, DateTime<Utc>)>(STATUS)
        .bind(name)
        .fetch_optional(conn)
        .await?;
    Ok(row.and_then(|(tx, pos, _, _)| checkpoint(tx, pos)))
}

/// Moves `name`'s checkpoint to `to` after `processed` more events.
pub(super) async fn save(
    conn: &mut PgConnection,
    name: &str,
    to: FeedCheckpoint,
    processed: usize,
) -> Result<(), sqlx::Error> {
    sqlx::query(SAVE)
        .bind(name)
        .bind(to.transaction_id)
        .bind(to.position)
        .bind(i64::try_from(processed).unwrap_or(i64::MAX))
        .execute(conn)
        .await?;
    Ok(())
}

/// Where a projection is, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionStatus {
    /// The last event it processed (`None`: none yet).
    pub checkpoint: Option<FeedCheckpoint>,
    /// How many events it processed since it started or was rebuilt.
    pub events_processed: i64,
    /// When the checkpoint last moved.
    pub updated_at: DateTime<Utc>,
}

/// The stored state of projection `name`, `None` when it never ran.
///
/// ```no_run
/// # async fn f(pool: sqlx::PgPool) -> Result<(), sqlx::Error> {
/// if let Some(s) = es_entity::projection::status(&pool, "balances").await? {
///     println!("{} events, at {:?}", s.events_processed, s.checkpoint);
/// }
/// # Ok(()) }
/// ```
pub async fn status(pool: &PgPool, name: &str) -> Result<Option<ProjectionStatus>, sqlx::Error> {
    let row = sqlx::query_as::<_, (Option<i64>, Option<i64>, i64, DateTime<Utc>)>(STATUS)
        .bind(name)
        .fetch_optional(pool)
        .await?;
    Ok(
        row.map(|(tx, pos, events_processed, updated_at)| ProjectionStatus {
            checkpoint: checkpoint(tx, pos),
            events_processed,
            updated_at,
        }),
    )
}

/// Waits until projection `name` (run by any process) has processed the
/// event at `target`, e.g. a repository's `feed_checkpoint_of(&entity)`
/// after a write: read-your-writes across processes. Polls the stored
/// checkpoint, every 10 ms at first and at most every 200 ms.
/// [`ProjectionHandle::wait_for`](super::ProjectionHandle::wait_for) waits
/// without polling in the process running the projection.
///
/// ```no_run
/// # async fn f(pool: sqlx::PgPool, cp: es_entity::FeedCheckpoint) {
/// use std::time::Duration;
/// es_entity::projection::wait_for(&pool, "balances", cp, Duration::from_secs(5))
///     .await
///     .unwrap();
/// # }
/// ```
pub async fn wait_for(
    pool: &PgPool,
    name: &str,
    target: FeedCheckpoint,
    timeout: Duration,
) -> Result<(), WaitError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(10);
    loop {
        let reached = status(pool, name)
            .await
            .map_err(|source| WaitError::Database {
                projection: name.to_owned(),
                source,
            })?
            .and_then(|s| s.checkpoint);
        if reached.is_some_and(|at| at >= target) {
            return Ok(());
        }
        if started.elapsed() >= timeout {
            return Err(WaitError::Timeout {
                projection: name.to_owned(),
                target,
                reached,
                timeout,
            });
        }
        tokio::time::sleep(pause.min(timeout.saturating_sub(started.elapsed()))).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// Starts projection `P` over: in one transaction, calls its
/// [`reset`](Projection::reset) and moves its checkpoint back to the start
/// of the feed. A runner working on it finishes its batch first (the row
/// lock orders them) and then reads from the start.
///
/// ```no_run
/// # async fn f<P: es_entity::projection::Projection>(pool: sqlx::PgPool, p: P) {
/// es_entity::projection::rebuild(&pool, &p).await.unwrap();
/// # }
/// ```
pub async fn rebuild<P: Projection>(
    pool: &PgPool,
    projection: &P,
) -> Result<(), ProjectionError<P::Error>> {
    let name = projection.name().to_owned();
    let db = |source| ProjectionError::Database {
        projection: name.clone(),
        source,
    };
    let mut op = DbOp::init(pool).await.map_err(db)?;
    ensure(op.tx(), &name, None).await.map_err(db)?;
    lock_row(op.tx(), &name).await.map_err(db)?;
    projection
        .reset(&mut op)
        .await
        .map_err(|source| ProjectionError::Reset {
            projection: name.clone(),
            source,
        })?;
    sqlx::query(RESET)
        .bind(&name)
        .execute(&mut **op.tx())
        .await
        .map_err(db)?;
    op.commit().await.map_err(|e| match e {
        CommitError::Sqlx(source) => ProjectionError::Database {
            projection: name.clone(),
            source,
        },
        other => ProjectionError::Commit {
            projection: name.clone(),
            source: other,
        },
    })
}
