//! [`ProjectionRunner`]: catches a projection up from its checkpoint, then
//! follows the feed live; [`ProjectionHandle`]: stops it, waits for it.

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Projection;
use super::error::{ProjectionError, WaitError};
use super::store;
use super::wake::{Wake, Woken};
use crate::feed::{FeedCheckpoint, FeedItem};
use crate::feed_source::FeedSources;
use crate::operation::CommitError;
use crate::operation::DbOp;

/// Where a projection that has no stored checkpoint yet starts. A stored
/// checkpoint always wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StartFrom {
    /// Every event ever written (the default).
    #[default]
    Beginning,
    /// Only events of transactions that commit after the runner first
    /// starts: the ones visible then are skipped.
    Now,
    /// The events after a checkpoint.
    After(FeedCheckpoint),
}

/// Runs a [`Projection`]. Build it, adjust it, then [`spawn`](Self::spawn) it
/// on the current tokio runtime.
///
/// The runner works on a connection of its own (made with the pool's
/// connect options, `application_name` set to `es_entity projection
/// <name>`) holding the projection's advisory lock, and listens on a
/// second one. Each batch is one `REPEATABLE READ` transaction on the first:
/// lock the checkpoint row, read up to `batch_size` events after it, hand
/// them to the handler, store the new checkpoint, commit. A transient error
/// (a lost connection, a serialization failure, a deadlock, or what
/// [`Projection::is_transient`] says) rolls the batch back and tries again
/// after a backoff, on a new connection if needed; any other error stops
/// the runner.
///
/// ```no_run
/// # async fn f<P: es_entity::projection::Projection>(pool: sqlx::PgPool, p: P) {
/// use es_entity::projection::{ProjectionRunner, StartFrom};
/// use std::time::Duration;
/// let handle = ProjectionRunner::new(pool, p)
///     .batch_size(1000)
///     .poll_interval(Duration::from_secs(5))
///     .start_from(StartFrom::Beginning)
///     .spawn();
/// handle.stop().await.unwrap();
/// # }
/// ```
pub struct ProjectionRunner<P: Projection> {
    pool: PgPool,
    projection: P,
    config: Config,
}

#[derive(Clone)]
struct Config {
    batch_size: usize,
    poll_interval: Duration,
    standby_interval: Duration,
    start: StartFrom,
    listen: bool,
    backoff_first: Duration,
    backoff_max: Duration,
}

impl<P: Projection> ProjectionRunner<P> {
    /// A runner for `projection` reading through connections like `pool`'s.
    pub fn new(pool: PgPool, projection: P) -> Self {
        Self {
            pool,
            projection,
            config: Config {
                batch_size: 500,
                poll_interval: Duration::from_secs(5),
                standby_interval: Duration::from_secs(1),
                start: StartFrom::Beginning,
                listen: true,
                backoff_first: Duration::from_millis(50),
                backoff_max: Duration::from_secs(10),
            },
        }
    }

    /// Events per batch (and per transaction); 500 by default, at least 1.
    pub fn batch_size(mut self, events: usize) -> Self {
        self.config.batch_size = events.max(1);
        self
    }

    /// How long a caught-up runner waits for a notification before reading
    /// anyway (notifications can be lost: a listener reconnecting, a write
    /// with triggers off); 5 s by default.
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.config.poll_interval = every;
        self
    }

    /// How often a runner that does not hold the projection's lock tries to
    /// take it; 1 s by default.
    pub fn standby_interval(mut self, every: Duration) -> Self {
        self.config.standby_interval = every;
        self
    }

    /// Where to start when the projection has no stored checkpoint.
    pub fn start_from(mut self, start: StartFrom) -> Self {
        self.config.start = start;
        self
    }

    /// Whether to `LISTEN` for writers' notifications (default `true`);
    /// without, the runner polls.
    pub fn listen(mut self, listen: bool) -> Self {
        self.config.listen = listen;
        self
    }

    /// The pause after the first transient error and its cap (it doubles
    /// each time); 50 ms and 10 s by default.
    pub fn retry_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.config.backoff_first = first;
        self.config.backoff_max = max.max(first);
        self
    }

    /// Starts the runner as a tokio task.
    pub fn spawn(self) -> ProjectionHandle<P::Error> {
        let name = self.projection.name().to_owned();
        let (stop_tx, stop_rx) = watch::channel(false);
        let (state_tx, state_rx) = watch::channel(State::default());
        let options = self
            .pool
            .connect_options()
            .as_ref()
            .clone()
            .application_name(&format!("es_entity projection {name}"));
        let task = tokio::spawn(run(
            options,
            self.projection,
            self.config,
            stop_rx,
            state_tx,
        ));
        ProjectionHandle {
            name,
            stop: stop_tx,
            state: state_rx,
            task: Some(task),
        }
    }
}

/// What a running projection shows its handle.
#[derive(Debug, Clone, Copy, Default)]
struct State {
    checkpoint: Option<FeedCheckpoint>,
    active: bool,
    finished: bool,
}

/// Controls a spawned [`ProjectionRunner`]. Dropping it stops the runner
/// (after its current batch) without waiting.
pub struct ProjectionHandle<E: std::error::Error + Send + Sync + 'static> {
    name: String,
    stop: watch::Sender<bool>,
    state: watch::Receiver<State>,
    task: Option<JoinHandle<Result<(), ProjectionError<E>>>>,
}

impl<E: std::error::Error + Send + Sync + 'static> ProjectionHandle<E> {
    /// The projection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The last checkpoint this runner committed or read at start.
    pub fn checkpoint(&self) -> Option<FeedCheckpoint> {
        self.state.borrow().checkpoint
    }

    /// Whether this runner holds the projection's lock (is the one working).
    pub fn is_active(&self) -> bool {
        self.state.borrow().active
    }

    /// Whether the runner has ended (stopped or failed).
    pub fn is_finished(&self) -> bool {
        self.state.borrow().finished
    }

    /// Waits until this runner is the active one, up to `timeout`; returns
    /// whether it is.
    pub async fn wait_until_active(&self, timeout: Duration) -> bool {
        let mut state = self.state.clone();
        matches!(
            tokio::time::timeout(timeout, state.wait_for(|s| s.active || s.finished)).await,
            Ok(Ok(s)) if s.active
        )
    }

    /// Waits until this runner has processed the event at `target` (e.g. a
    /// repository's `feed_checkpoint_of(&entity)` after a write), up to
    /// `timeout`: read-your-writes without polling the database. From
    /// another process, use [`super::wait_for`].
    pub async fn wait_for(
        &self,
        target: FeedCheckpoint,
        timeout: Duration,
    ) -> Result<(), WaitError> {
        let mut state = self.state.clone();
        let reached = |s: &State| s.checkpoint.is_some_and(|at| at >= target);
        match tokio::time::timeout(timeout, state.wait_for(|s| reached(s) || s.finished)).await {
            Ok(Ok(s)) if reached(&s) => Ok(()),
            Ok(_) => Err(WaitError::Stopped {
                projection: self.name.clone(),
                target,
            }),
            Err(_) => Err(WaitError::Timeout {
                projection: self.name.clone(),
                target,
                reached: self.checkpoint(),
                timeout,
            }),
        }
    }

    /// Asks the runner to stop after its current batch and waits for it:
    /// `Ok` when it stopped cleanly, the error that had stopped it otherwise.
    pub async fn stop(mut self) -> Result<(), ProjectionError<E>> {
        let _ = self.stop.send(true);
        self.finish().await
    }

    /// Waits for the runner to end by itself (it only does on an error).
    pub async fn join(mut self) -> Result<(), ProjectionError<E>> {
        self.finish().await
    }

    async fn finish(&mut self) -> Result<(), ProjectionError<E>> {
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match task.await {
            Ok(result) => result,
            Err(e) => Err(ProjectionError::Task {
                projection: self.name.clone(),
                reason: e.to_string(),
            }),
        }
    }
}

impl<E: std::error::Error + Send + Sync + 'static> Drop for ProjectionHandle<E> {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// How a session or a batch ended badly.
enum Failure<E: std::error::Error + 'static> {
    /// Retry after a backoff.
    Transient(String),
    /// Stop with this error.
    Fatal(ProjectionError<E>),
}

fn database<E: std::error::Error + 'static>(name: &str) -> impl Fn(sqlx::Error) -> Failure<E> + '_ {
    move |source| {
        if crate::sqlx_errors::is_transient_sqlx(&source) {
            Failure::Transient(source.to_string())
        } else {
            Failure::Fatal(ProjectionError::Database {
                projection: name.to_owned(),
                source,
            })
        }
    }
}

fn commit_failure<E: std::error::Error + 'static>(name: &str, err: CommitError) -> Failure<E> {
    match err {
        CommitError::Sqlx(e) => database(name)(e),
        other => Failure::Fatal(ProjectionError::Commit {
            projection: name.to_owned(),
            source: other,
        }),
    }
}

async fn run<P: Projection>(
    options: PgConnectOptions,
    projection: P,
    config: Config,
    mut stop: watch::Receiver<bool>,
    state: watch::Sender<State>,
) -> Result<(), ProjectionError<P::Error>> {
    let name = projection.name().to_owned();
    let mut backoff = config.backoff_first;
    let result = loop {
        let session = session(
            &options,
            &projection,
            &name,
            &config,
            &mut stop,
            &state,
            &mut backoff,
        )
        .await;
        state.send_modify(|s| s.active = false);
        match session {
            Ok(()) => break Ok(()),
            Err(Failure::Fatal(e)) => break Err(e),
            Err(Failure::Transient(why)) => {
                tracing::warn!(projection = %name, error = %why, pause = ?backoff, "es_entity projection: retrying");
                let pause = tokio::time::sleep(backoff);
                tokio::select! {
                    _ = pause => {}
                    _ = stop.wait_for(|s| *s) => break Ok(()),
                }
                backoff = (backoff * 2).min(config.backoff_max);
            }
        }
    };
    state.send_modify(|s| s.finished = true);
    result
}

/// One connection's life: wait for the lock, then batches until stopped.
async fn session<P: Projection>(
    options: &PgConnectOptions,
    projection: &P,
    name: &str,
    config: &Config,
    stop: &mut watch::Receiver<bool>,
    state: &watch::Sender<State>,
    backoff: &mut Duration,
) -> Result<(), Failure<P::Error>> {
    let db = database::<P::Error>(name);
    let mut conn = PgConnection::connect_with(options).await.map_err(&db)?;
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        if store::try_lock(&mut conn, name).await.map_err(&db)? {
            break;
        }
        // Standing by: show the active runner's progress, so waiting on
        // this handle works too.
        let stored = store::status_on(&mut conn, name).await.map_err(&db)?;
        state.send_modify(|s| s.checkpoint = stored);
        tokio::select! {
            _ = tokio::time::sleep(config.standby_interval) => {}
            _ = stop.wait_for(|s| *s) => return Ok(()),
        }
    }
    let start = match config.start {
        StartFrom::Beginning => None,
        StartFrom::After(at) => Some(at),
        StartFrom::Now => Some(store::now(&mut conn).await.map_err(&db)?),
    };
    store::ensure(&mut conn, name, start).await.map_err(&db)?;
    let stored = store::status_on(&mut conn, name).await.map_err(&db)?;
    state.send_modify(|s| {
        s.active = true;
        s.checkpoint = stored;
    });
    tracing::info!(projection = %name, checkpoint = ?stored, "es_entity projection: active");
    let mut wake = Wake::new(options, config.listen, P::Follows::tables()).await;
    loop {
        if *stop.borrow() {
            let _ = conn.close().await;
            return Ok(());
        }
        let done = batch(&mut conn, projection, name, config.batch_size).await?;
        *backoff = config.backoff_first;
        if let Some(at) = done.checkpoint {
            state.send_modify(|s| s.checkpoint = Some(at));
        }
        if done.more {
            continue;
        }
        wake.caught_up_to(done.horizon);
        if wake.wait(config.poll_interval, stop).await == Woken::Stop {
            let _ = conn.close().await;
            return Ok(());
        }
    }
}

/// What one batch did.
struct Batch {
    checkpoint: Option<FeedCheckpoint>,
    horizon: i64,
    /// More events are waiting.
    more: bool,
}

async fn batch<P: Projection>(
    conn: &mut PgConnection,
    projection: &P,
    name: &str,
    limit: usize,
) -> Result<Batch, Failure<P::Error>> {
    let db = database::<P::Error>(name);
    let tx = conn
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .await
        .map_err(&db)?;
    let mut op = DbOp::from(tx);
    let after = store::lock_row(op.tx(), name).await.map_err(&db)?;
    let read = <P::Follows as FeedSources<P::Item>>::read(op.tx(), after, limit)
        .await
        .map_err(|source| {
            if source.is_transient() {
                Failure::Transient(source.to_string())
            } else {
                Failure::Fatal(ProjectionError::Feed {
                    projection: name.to_owned(),
                    after,
                    source,
                })
            }
        })?;
    for item in &read.events {
        if let Err(source) = projection.handle(&mut op, item).await {
            let _ = op.rollback().await;
            return Err(if projection.is_transient(&source) {
                Failure::Transient(source.to_string())
            } else {
                Failure::Fatal(ProjectionError::Handler {
                    projection: name.to_owned(),
                    checkpoint: item.checkpoint(),
                    origin: item.origin(),
                    source,
                })
            });
        }
    }
    let last = read.events.last().map(FeedItem::checkpoint);
    if let Some(at) = last {
        store::save(op.tx(), name, at, read.events.len())
            .await
            .map_err(&db)?;
    }
    op.commit().await.map_err(|e| commit_failure(name, e))?;
    Ok(Batch {
        checkpoint: last.or(after),
        horizon: read.horizon,
        // A merge that kept nothing without being exhausted made no
        // progress: wait a little rather than spin.
        more: !read.exhausted && !read.events.is_empty(),
    })
}
