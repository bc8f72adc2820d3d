//! The projection workloads: a checkpointed projection catching up on
//! 100,000 events against a hand-written loop (the floor), the live lag of a
//! runner following a steady write load, and what the feed columns cost a
//! single-entity write.
//!
//! Tables: migrations/20261202000000_bench_projection.sql. The runner's
//! `es_projections` lives in the schema `es_entity_bench`, which the pool
//! here puts first on its `search_path` (the runner makes its connections
//! from the pool's options, so they get it too).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use es_entity::projection::{self as es_projection, Projection, ProjectionRunner, StartFrom};
use es_entity::{AtomicOperation, EsEvent, FeedCheckpoint, FeedEvent};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::types::Json;
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use tokio::time::MissedTickBehavior;
use uuid::Uuid;

use crate::floor::AccountEvent as FloorEvent;
use crate::ours::{Account, AccountEvent, AccountId, NewAccount};
use crate::schema::PROJECTION_SCHEMA;
use crate::statements::{self, Shape};
use crate::subject::Res;

use cost_columns::CostColumnsAccounts;
use cost_feed::CostFeedAccounts;
use cost_plain::CostPlainAccounts;
use followed::ProjAccounts;

/// The followed repository, in the feed.
mod followed {
    use crate::ours::{Account, AccountEvent, AccountId};
    use es_entity::*;

    #[derive(EsRepo)]
    #[es_repo(
        entity = "Account",
        tbl = "bench_proj_accounts",
        events_tbl = "bench_proj_account_events",
        columns(name(ty = "String")),
        feed
    )]
    pub struct ProjAccounts {
        pool: sqlx::PgPool,
    }

    impl ProjAccounts {
        pub fn new(pool: sqlx::PgPool) -> Self {
            Self { pool }
        }
    }
}

/// The feed-column cost: the same entity without the feed columns...
mod cost_plain {
    use crate::ours::{Account, AccountEvent, AccountId};
    use es_entity::*;

    #[derive(EsRepo)]
    #[es_repo(
        entity = "Account",
        tbl = "bench_cost_plain_accounts",
        events_tbl = "bench_cost_plain_account_events",
        columns(name(ty = "String"))
    )]
    pub struct CostPlainAccounts {
        pool: sqlx::PgPool,
    }

    impl CostPlainAccounts {
        pub fn new(pool: sqlx::PgPool) -> Self {
            Self { pool }
        }
    }
}

/// ... with them and their index, no trigger ...
mod cost_columns {
    use crate::ours::{Account, AccountEvent, AccountId};
    use es_entity::*;

    #[derive(EsRepo)]
    #[es_repo(
        entity = "Account",
        tbl = "bench_cost_columns_accounts",
        events_tbl = "bench_cost_columns_account_events",
        columns(name(ty = "String")),
        feed
    )]
    pub struct CostColumnsAccounts {
        pool: sqlx::PgPool,
    }

    impl CostColumnsAccounts {
        pub fn new(pool: sqlx::PgPool) -> Self {
            Self { pool }
        }
    }
}

/// ... and with the notify trigger too.
mod cost_feed {
    use crate::ours::{Account, AccountEvent, AccountId};
    use es_entity::*;

    #[derive(EsRepo)]
    #[es_repo(
        entity = "Account",
        tbl = "bench_cost_feed_accounts",
        events_tbl = "bench_cost_feed_account_events",
        columns(name(ty = "String")),
        feed
    )]
    pub struct CostFeedAccounts {
        pool: sqlx::PgPool,
    }

    impl CostFeedAccounts {
        pub fn new(pool: sqlx::PgPool) -> Self {
            Self { pool }
        }
    }
}

/// Events per batch, for the runner and the floor alike (the runner's
/// default).
pub const BATCH: usize = 500;
/// Deposits per account in the catch-up fill, after its `Initialized`.
const DEPOSITS: usize = 4;
/// The warm-up (and statement count) runs this many batches.
const WARM_BATCHES: usize = 6;
/// Writes per second of the live-lag writer.
pub const LIVE_RATE: f64 = 100.0;
/// The polling interval of the live runner without notifications.
pub const POLL: Duration = Duration::from_millis(100);
/// Accounts the live writer deposits into (round robin).
const LIVE_ACCOUNTS: usize = 200;
/// A bound for every wait, so a stuck run fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(1800);

const OURS: &str = "bench_catch_up_ours";
const FLOOR: &str = "bench_catch_up_floor";
const FLOOR_ONE: &str = "bench_catch_up_floor_one_insert";
const LIVE: &str = "bench_live";

/// What to run, and how much.
pub struct Params {
    pub catch_up: bool,
    pub live: bool,
    pub cost: bool,
    /// Accounts of the catch-up fill (`1 + DEPOSITS` events each).
    pub fill_accounts: usize,
    pub catch_up_rounds: usize,
    pub live_rounds: usize,
    pub live_secs: f64,
    pub cost_rounds: usize,
    pub cost_ops: usize,
}

/// The pool of the projection workloads: `es_entity_bench` first on the
/// `search_path`; `log` switches sqlx's statement log on (for counting).
pub async fn pool(url: &str, log: bool) -> Res<PgPool> {
    let options: PgConnectOptions = url.parse()?;
    let mut options = options
        .ssl_mode(PgSslMode::Disable)
        .disable_statement_logging()
        .options([("search_path", format!("{PROJECTION_SCHEMA},public"))]);
    if log {
        // Every statement at one level (`disable_statement_logging` above
        // makes every statement "slow", with a threshold of 0).
        options = options
            .log_statements(log::LevelFilter::Info)
            .log_slow_statements(log::LevelFilter::Info, Duration::from_secs(3600));
    }
    Ok(PgPoolOptions::new()
        .max_connections(10)
        .connect_with(options)
        .await?)
}

/// Empties the projection workloads' tables and checkpoints.
pub async fn truncate(pool: &PgPool) -> Res<()> {
    sqlx::query(
        "TRUNCATE bench_proj_account_events, bench_proj_accounts, bench_proj_ours_rows, \
         bench_proj_floor_rows, bench_proj_live_rows, bench_cost_plain_account_events, \
         bench_cost_plain_accounts, bench_cost_columns_account_events, \
         bench_cost_columns_accounts, bench_cost_feed_account_events, bench_cost_feed_accounts, \
         es_entity_bench.es_projections",
    )
    .execute(pool)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The projection ("ours")

#[derive(Clone, Copy)]
enum ReadModel {
    /// `bench_proj_ours_rows`, the catch-up's.
    CatchUp,
    /// `bench_proj_live_rows`.
    Live,
}

/// One read-model row per event: where it sits in the feed, its entity,
/// sequence and type, the amount it deposits, when it was recorded.
struct RowPerEvent {
    name: &'static str,
    model: ReadModel,
}

fn amount(event: &AccountEvent) -> i64 {
    match event {
        AccountEvent::Deposited { amount } => *amount,
        AccountEvent::Initialized { .. } | AccountEvent::NameChanged { .. } => 0,
    }
}

impl Projection for RowPerEvent {
    type Follows = ProjAccounts;
    type Item = FeedEvent<AccountId, AccountEvent>;
    type Error = sqlx::Error;

    fn name(&self) -> &str {
        self.name
    }

    async fn handle(
        &self,
        op: &mut impl AtomicOperation,
        item: &Self::Item,
    ) -> Result<(), sqlx::Error> {
        let entity_id = Uuid::from(item.entity_id);
        let event_type = item.event.event_type();
        let amount = amount(&item.event);
        match self.model {
            ReadModel::CatchUp => {
                sqlx::query!(
                    "INSERT INTO bench_proj_ours_rows \
                 (position, transaction_id, entity_id, sequence, event_type, amount, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    item.position,
                    item.transaction_id,
                    entity_id,
                    i32::try_from(item.sequence).expect("a sequence fits the INT4 column"),
                    event_type,
                    amount,
                    item.recorded_at,
                )
                .execute(op.as_executor())
                .await?
            }
            ReadModel::Live => {
                sqlx::query!(
                    "INSERT INTO bench_proj_live_rows \
                 (position, transaction_id, entity_id, sequence, event_type, amount, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    item.position,
                    item.transaction_id,
                    entity_id,
                    i32::try_from(item.sequence).expect("a sequence fits the INT4 column"),
                    event_type,
                    amount,
                    item.recorded_at,
                )
                .execute(op.as_executor())
                .await?
            }
        };
        Ok(())
    }

    async fn reset(&self, op: &mut impl AtomicOperation) -> Result<(), sqlx::Error> {
        match self.model {
            ReadModel::CatchUp => {
                sqlx::query!("TRUNCATE bench_proj_ours_rows")
                    .execute(op.as_executor())
                    .await?
            }
            ReadModel::Live => {
                sqlx::query!("TRUNCATE bench_proj_live_rows")
                    .execute(op.as_executor())
                    .await?
            }
        };
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// The floor: the same batches by hand

/// One batch of the floor, in one `REPEATABLE READ` transaction: lock the
/// checkpoint row, read up to [`BATCH`] events after it below the horizon
/// in `(transaction_id, position)` order, insert one row per event (one
/// statement per row, or all in one with `one_insert`), store the new
/// checkpoint, commit. Returns the new checkpoint (`None`: nothing read).
async fn floor_batch(
    conn: &mut PgConnection,
    name: &str,
    one_insert: bool,
) -> Res<Option<FeedCheckpoint>> {
    let mut tx = conn
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .await?;
    let at = sqlx::query!(
        "SELECT transaction_id, position FROM es_entity_bench.es_projections \
         WHERE name = $1 FOR UPDATE",
        name
    )
    .fetch_one(&mut *tx)
    .await?;
    let rows = sqlx::query!(
        "SELECT id, sequence, position, transaction_id::TEXT::BIGINT AS \"transaction_id!\", \
         event_type, event AS \"event: Json<FloorEvent>\", context, recorded_at \
         FROM bench_proj_account_events \
         WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
         AND (transaction_id, position) > ($1::BIGINT::TEXT::XID8, $2::BIGINT) \
         ORDER BY transaction_id, position LIMIT $3",
        at.transaction_id.unwrap_or(0),
        at.position.unwrap_or(0),
        BATCH as i64,
    )
    .fetch_all(&mut *tx)
    .await?;
    if one_insert {
        let n = rows.len();
        let mut positions = Vec::with_capacity(n);
        let mut transactions = Vec::with_capacity(n);
        let mut entities = Vec::with_capacity(n);
        let mut sequences = Vec::with_capacity(n);
        let mut types = Vec::with_capacity(n);
        let mut amounts = Vec::with_capacity(n);
        let mut recorded = Vec::with_capacity(n);
        for r in &rows {
            positions.push(r.position);
            transactions.push(r.transaction_id);
            entities.push(r.id);
            sequences.push(r.sequence);
            types.push(r.event_type.as_str());
            amounts.push(floor_amount(&r.event.0));
            recorded.push(r.recorded_at);
        }
        sqlx::query!(
            "INSERT INTO bench_proj_floor_rows \
             (position, transaction_id, entity_id, sequence, event_type, amount, recorded_at) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::UUID[], $4::INT[], \
             $5::VARCHAR[], $6::BIGINT[], $7::TIMESTAMPTZ[])",
            &positions,
            &transactions,
            &entities,
            &sequences,
            &types as &[&str],
            &amounts,
            &recorded as &[DateTime<Utc>],
        )
        .execute(&mut *tx)
        .await?;
    } else {
        for r in &rows {
            sqlx::query!(
                "INSERT INTO bench_proj_floor_rows \
                 (position, transaction_id, entity_id, sequence, event_type, amount, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                r.position,
                r.transaction_id,
                r.id,
                r.sequence,
                r.event_type,
                floor_amount(&r.event.0),
                r.recorded_at,
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    let last = rows.last().map(|r| FeedCheckpoint {
        transaction_id: r.transaction_id,
        position: r.position,
    });
    if let Some(to) = last {
        sqlx::query!(
            "UPDATE es_entity_bench.es_projections SET transaction_id = $2, position = $3, \
             events_processed = events_processed + $4, updated_at = NOW() WHERE name = $1",
            name,
            to.transaction_id,
            to.position,
            rows.len() as i64,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(last)
}

fn floor_amount(event: &FloorEvent) -> i64 {
    match event {
        FloorEvent::Deposited { amount } => *amount,
        FloorEvent::Initialized { .. } | FloorEvent::NameChanged { .. } => 0,
    }
}

// ---------------------------------------------------------------------------
// Catch-up

/// The implementations of the catch-up, in the order of the samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    Ours,
    Floor,
    FloorOneInsert,
}

impl Lane {
    const ALL: [Lane; 3] = [Lane::Ours, Lane::Floor, Lane::FloorOneInsert];

    fn label(self) -> &'static str {
        match self {
            Lane::Ours => "ours: ProjectionRunner",
            Lane::Floor => "floor: hand-written loop",
            Lane::FloorOneInsert => "floor, one INSERT per batch",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Lane::Ours => "ours",
            Lane::Floor => "floor",
            Lane::FloorOneInsert => "floor-1",
        }
    }
}

pub struct CatchUp {
    events: usize,
    accounts: usize,
    /// Per round, per lane (in [`Lane::ALL`] order).
    samples: Vec<[CatchUpSample; 3]>,
    /// Per lane: the typical batch, how many batches after the first had
    /// it, of how many.
    shapes: [Option<(Shape, usize, usize)>; 3],
}

/// Writes the fill: `accounts` accounts with `1 + DEPOSITS` events each, in
/// bulk calls of 1,000 accounts (untimed).
async fn fill(repo: &ProjAccounts, accounts: usize) -> Res<()> {
    let mut made = 0;
    while made < accounts {
        let n = (accounts - made).min(1_000);
        let new: Vec<NewAccount> = (0..n)
            .map(|i| NewAccount {
                id: AccountId::from(Uuid::now_v7()),
                name: format!("proj-{:06}", made + i),
            })
            .collect();
        let mut created = repo.create_all(new).await?;
        for account in &mut created {
            for k in 1..=DEPOSITS {
                account.deposit(k as i64);
            }
        }
        repo.update_all(&mut created).await?;
        made += n;
    }
    Ok(())
}

/// The checkpoint of the `n`-th event (from 1) of the followed table, in
/// feed order.
async fn nth_event(pool: &PgPool, n: usize) -> Res<FeedCheckpoint> {
    let row = sqlx::query!(
        "SELECT transaction_id::TEXT::BIGINT AS \"transaction_id!\", position \
         FROM bench_proj_account_events ORDER BY transaction_id, position OFFSET $1 LIMIT 1",
        n as i64 - 1
    )
    .fetch_one(pool)
    .await?;
    Ok(FeedCheckpoint {
        transaction_id: row.transaction_id,
        position: row.position,
    })
}

/// Waits (untimed) until every event up to `target` is below the feed's
/// horizon: a transaction open elsewhere on the server holds it back.
async fn wait_visible(pool: &PgPool, target: FeedCheckpoint) -> Res<()> {
    let start = Instant::now();
    let mut told = false;
    loop {
        let horizon: i64 =
            sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::TEXT::BIGINT")
                .fetch_one(pool)
                .await?;
        if horizon > target.transaction_id {
            return Ok(());
        }
        if !told && start.elapsed() > Duration::from_secs(2) {
            eprintln!(
                "    waiting for a transaction open elsewhere on the server (it holds the feed's horizon)..."
            );
            told = true;
        }
        if start.elapsed() > PATIENCE {
            return Err("the feed's horizon did not pass the fill".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Puts `lane`'s read model and checkpoint back to the start (untimed).
async fn reset(pool: &PgPool, lane: Lane) -> Res<()> {
    match lane {
        Lane::Ours => es_projection::rebuild(pool, &ours_projection()).await?,
        Lane::Floor | Lane::FloorOneInsert => {
            let name = if lane == Lane::Floor {
                FLOOR
            } else {
                FLOOR_ONE
            };
            let mut tx = pool.begin().await?;
            sqlx::query!(
                "INSERT INTO es_entity_bench.es_projections (name) VALUES ($1) \
                 ON CONFLICT (name) DO NOTHING",
                name
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!(
                "UPDATE es_entity_bench.es_projections SET transaction_id = NULL, \
                 position = NULL, events_processed = 0, updated_at = NOW() WHERE name = $1",
                name
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!("TRUNCATE bench_proj_floor_rows")
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

fn ours_projection() -> RowPerEvent {
    RowPerEvent {
        name: OURS,
        model: ReadModel::CatchUp,
    }
}

/// One catch-up of one lane.
#[derive(Clone, Copy, Default)]
struct CatchUpSample {
    wall: Duration,
    /// CPU time of this process (the client) during the run, s.
    client_cpu: Option<f64>,
    /// CPU time of the PostgreSQL process serving the batches, s.
    server_cpu: Option<f64>,
}

/// This process's CPU time (user + system, all threads), s, from
/// `/proc/self/stat` (clock ticks of 10 ms).
fn own_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the command: state is field 3, utime field 14, stime field 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// The server process of the oldest connection named `application`, polled
/// for up to a second (a runner's batch connection connects before its
/// listening one).
async fn find_backend(pool: &PgPool, application: &str) -> Option<i32> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        let pid: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 \
             ORDER BY backend_start LIMIT 1",
        )
        .bind(application)
        .fetch_optional(pool)
        .await
        .ok()
        .flatten();
        if pid.is_some() {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    None
}

fn delta(before: Option<f64>, after: Option<f64>) -> Option<f64> {
    Some(after? - before?)
}

/// One timed catch-up of `lane` from the start of the feed to `target`:
/// from spawning the runner (ours) or connecting (the floor) to the commit
/// of the batch holding `target`.
async fn catch_up_once(pool: &PgPool, lane: Lane, target: FeedCheckpoint) -> Res<CatchUpSample> {
    let server_ms = |pid: Option<i32>| pid.and_then(process_cpu_ms);
    match lane {
        Lane::Ours => {
            let client0 = own_cpu_secs();
            let start = Instant::now();
            let handle = ProjectionRunner::new(pool.clone(), ours_projection())
                .batch_size(BATCH)
                .start_from(StartFrom::Beginning)
                .spawn();
            let backend = find_backend(pool, &format!("es_entity projection {OURS}")).await;
            let server0 = server_ms(backend);
            handle.wait_for(target, PATIENCE).await?;
            let wall = start.elapsed();
            let server1 = server_ms(backend);
            let client1 = own_cpu_secs();
            handle.stop().await?;
            Ok(CatchUpSample {
                wall,
                client_cpu: delta(client0, client1),
                server_cpu: delta(server0, server1).map(|ms| ms / 1e3),
            })
        }
        Lane::Floor | Lane::FloorOneInsert => {
            let (name, one_insert) = if lane == Lane::Floor {
                (FLOOR, false)
            } else {
                (FLOOR_ONE, true)
            };
            let application = format!("es_entity_bench floor {name}");
            let options = pool
                .connect_options()
                .as_ref()
                .clone()
                .application_name(&application);
            let client0 = own_cpu_secs();
            let start = Instant::now();
            // On a task of its own, as the runner works: the main task is
            // not a worker of the runtime, and every round trip from it
            // costs a wake-up across threads.
            let task = tokio::spawn(async move {
                let mut conn = PgConnection::connect_with(&options).await?;
                loop {
                    match floor_batch(&mut conn, name, one_insert).await? {
                        Some(at) if at >= target => break,
                        Some(_) => {}
                        None => return Err("floor: the feed ended before the target".into()),
                    }
                }
                Ok::<_, crate::subject::BoxError>((start.elapsed(), conn))
            });
            let backend = find_backend(pool, &application).await;
            let server0 = server_ms(backend);
            let (wall, conn) = task.await.map_err(|e| format!("floor task: {e}"))??;
            let server1 = server_ms(backend);
            let client1 = own_cpu_secs();
            conn.close().await?;
            Ok(CatchUpSample {
                wall,
                client_cpu: delta(client0, client1),
                server_cpu: delta(server0, server1).map(|ms| ms / 1e3),
            })
        }
    }
}

/// Checks `lane`'s read model holds exactly one row per fill event with the
/// fill's amounts and sequences.
async fn check_rows(pool: &PgPool, lane: Lane, accounts: usize) -> Res<()> {
    let (rows, amounts, sequences) = match lane {
        Lane::Ours => {
            let r = sqlx::query!(
                "SELECT COUNT(*) AS \"rows!\", COALESCE(SUM(amount), 0)::BIGINT AS \"amounts!\", \
                 COALESCE(SUM(sequence), 0)::BIGINT AS \"sequences!\" FROM bench_proj_ours_rows"
            )
            .fetch_one(pool)
            .await?;
            (r.rows, r.amounts, r.sequences)
        }
        Lane::Floor | Lane::FloorOneInsert => {
            let r = sqlx::query!(
                "SELECT COUNT(*) AS \"rows!\", COALESCE(SUM(amount), 0)::BIGINT AS \"amounts!\", \
                 COALESCE(SUM(sequence), 0)::BIGINT AS \"sequences!\" FROM bench_proj_floor_rows"
            )
            .fetch_one(pool)
            .await?;
            (r.rows, r.amounts, r.sequences)
        }
    };
    let n = accounts as i64;
    let d = DEPOSITS as i64;
    let expected = (n * (1 + d), n * d * (d + 1) / 2, n * (d + 1) * (d + 2) / 2);
    if (rows, amounts, sequences) != expected {
        return Err(format!(
            "{}: read model has (rows, sum of amounts, sum of sequences) = {:?}, expected {:?}",
            lane.short(),
            (rows, amounts, sequences),
            expected
        )
        .into());
    }
    Ok(())
}

pub async fn catch_up(pool: &PgPool, counting: Option<&PgPool>, p: &Params) -> Res<CatchUp> {
    let repo = ProjAccounts::new(pool.clone());
    let events = p.fill_accounts * (1 + DEPOSITS);
    eprintln!("  projection catch-up: filling {events} events...");
    fill(&repo, p.fill_accounts).await?;
    sqlx::query("ANALYZE bench_proj_accounts, bench_proj_account_events")
        .execute(pool)
        .await?;
    let target = nth_event(pool, events).await?;
    let warm_target = nth_event(pool, (WARM_BATCHES * BATCH).min(events)).await?;
    wait_visible(pool, target).await?;

    // Warm-up, and the statements each lane sends (on the counting pool,
    // with sqlx's statement log on; not timed).
    let mut shapes: [Option<(Shape, usize, usize)>; 3] = Default::default();
    for (i, lane) in Lane::ALL.into_iter().enumerate() {
        reset(pool, lane).await?;
        statements::start();
        catch_up_once(counting.unwrap_or(pool), lane, warm_target).await?;
        shapes[i] = statements::batch_shape(&statements::stop());
    }

    eprintln!(
        "  projection catch-up: {} rounds x 3 lanes x {events} events",
        p.catch_up_rounds
    );
    let mut samples = Vec::with_capacity(p.catch_up_rounds);
    for round in 0..p.catch_up_rounds {
        let mut sample = [CatchUpSample::default(); 3];
        for k in 0..3 {
            let i = (round + k) % 3;
            let lane = Lane::ALL[i];
            reset(pool, lane).await?;
            let measured = catch_up_once(pool, lane, target)
                .await
                .map_err(|e| format!("projection catch-up, {}: {e}", lane.short()))?;
            check_rows(pool, lane, p.fill_accounts).await?;
            sample[i] = measured;
        }
        eprintln!(
            "    round {}: ours {:.2} s, floor {:.2} s, floor-1 {:.2} s",
            round + 1,
            sample[0].wall.as_secs_f64(),
            sample[1].wall.as_secs_f64(),
            sample[2].wall.as_secs_f64()
        );
        samples.push(sample);
    }
    Ok(CatchUp {
        events,
        accounts: p.fill_accounts,
        samples,
        shapes,
    })
}

// ---------------------------------------------------------------------------
// Live lag

pub struct LiveRound {
    listen: bool,
    writes: usize,
    secs: f64,
    /// Per write: from the write returning to the runner having committed
    /// its event, ms.
    lags: Vec<f64>,
    /// Per write: the `feed_checkpoint_of` call, ms (part of the lag as
    /// measured).
    checkpoint_queries: Vec<f64>,
    /// Samples (every [`SAMPLE`]) of whether a transaction that writes was
    /// open in another database of the server, and how many did: such a
    /// transaction holds the feed's horizon back (see the feed chapter),
    /// so lags measured meanwhile are not the runner's alone.
    samples: usize,
    foreign_writers: usize,
}

/// How often the live-lag workload looks for writers in other databases.
const SAMPLE: Duration = Duration::from_millis(20);

/// Samples, until `stop`, whether another database of the server has a
/// transaction with a transaction id open; returns (samples, positive).
async fn watch_foreign_writers(
    pool: PgPool,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> (usize, usize) {
    let (mut samples, mut positive) = (0, 0);
    loop {
        let open: Result<i64, _> = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL \
             AND datname IS DISTINCT FROM current_database()",
        )
        .fetch_one(&pool)
        .await;
        if let Ok(open) = open {
            samples += 1;
            positive += usize::from(open > 0);
        }
        tokio::select! {
            _ = tokio::time::sleep(SAMPLE) => {}
            _ = stop.wait_for(|s| *s) => return (samples, positive),
        }
    }
}

pub struct Live {
    rounds: Vec<LiveRound>,
}

/// One mode for `secs` seconds: a runner (listening or polling every
/// [`POLL`]) follows while the writer does [`LIVE_RATE`] writes per second,
/// creates and deposits alternating.
async fn live_round(
    pool: &PgPool,
    repo: &ProjAccounts,
    accounts: &mut [Account],
    listen: bool,
    secs: f64,
    tag: &str,
) -> Res<LiveRound> {
    let handle = Arc::new(
        ProjectionRunner::new(
            pool.clone(),
            RowPerEvent {
                name: LIVE,
                model: ReadModel::Live,
            },
        )
        .batch_size(BATCH)
        .start_from(StartFrom::Now)
        .listen(listen)
        .poll_interval(POLL)
        .spawn(),
    );
    if !handle.wait_until_active(Duration::from_secs(60)).await {
        return Err("the live runner did not become active".into());
    }
    let n = (secs * LIVE_RATE).round() as usize;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / LIVE_RATE));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut waiters = Vec::with_capacity(n);
    let (stop_watch, stop_rx) = tokio::sync::watch::channel(false);
    let watcher = tokio::spawn(watch_foreign_writers(pool.clone(), stop_rx));
    let start = Instant::now();
    for i in 0..n {
        ticker.tick().await;
        let (written, checkpoint) = if i % 2 == 0 {
            let account = repo
                .create(NewAccount {
                    id: AccountId::from(Uuid::now_v7()),
                    name: format!("live-{tag}-{i:05}"),
                })
                .await?;
            let written = Instant::now();
            (written, repo.feed_checkpoint_of(&account).await?)
        } else {
            let account = &mut accounts[(i / 2) % accounts.len()];
            account.deposit(1);
            repo.update(account).await?;
            let written = Instant::now();
            (written, repo.feed_checkpoint_of(account).await?)
        };
        let queried = written.elapsed();
        let checkpoint = checkpoint.ok_or("a written account has no feed checkpoint")?;
        let handle = Arc::clone(&handle);
        waiters.push(tokio::spawn(async move {
            handle
                .wait_for(checkpoint, Duration::from_secs(120))
                .await
                .map(|()| (written.elapsed(), queried))
        }));
    }
    let secs = start.elapsed().as_secs_f64();
    let mut lags = Vec::with_capacity(n);
    let mut checkpoint_queries = Vec::with_capacity(n);
    for waiter in waiters {
        let (lag, queried) = waiter
            .await
            .map_err(|e| format!("waiter panicked: {e}"))??;
        lags.push(lag.as_secs_f64() * 1e3);
        checkpoint_queries.push(queried.as_secs_f64() * 1e3);
    }
    let _ = stop_watch.send(true);
    let (samples, foreign_writers) = watcher
        .await
        .map_err(|e| format!("watcher panicked: {e}"))?;
    let handle = Arc::into_inner(handle).ok_or("the live runner's handle is still shared")?;
    handle.stop().await?;
    Ok(LiveRound {
        listen,
        writes: n,
        secs,
        lags,
        checkpoint_queries,
        samples,
        foreign_writers,
    })
}

pub async fn live(pool: &PgPool, p: &Params) -> Res<Live> {
    let repo = ProjAccounts::new(pool.clone());
    let new: Vec<NewAccount> = (0..LIVE_ACCOUNTS)
        .map(|i| NewAccount {
            id: AccountId::from(Uuid::now_v7()),
            name: format!("live-deposits-{i:04}"),
        })
        .collect();
    let mut accounts = repo.create_all(new).await?;
    sqlx::query("ANALYZE bench_proj_accounts, bench_proj_account_events")
        .execute(pool)
        .await?;
    eprintln!(
        "  projection live lag: {} rounds x 2 modes x {} s at {LIVE_RATE} writes/s",
        p.live_rounds, p.live_secs
    );
    // Warm-up: one short round per mode, not recorded. The first start of
    // the runner begins at the feed's present (`StartFrom::Now`).
    let mut first_position = None;
    for listen in [true, false] {
        live_round(
            pool,
            &repo,
            &mut accounts,
            listen,
            1.0,
            &format!("w-{listen}"),
        )
        .await?;
        if first_position.is_none() {
            first_position = es_projection::status(pool, LIVE)
                .await?
                .and_then(|s| s.checkpoint);
        }
    }
    let mut rounds = Vec::new();
    for round in 0..p.live_rounds {
        let modes = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for listen in modes {
            let r = live_round(
                pool,
                &repo,
                &mut accounts,
                listen,
                p.live_secs,
                &format!("r{round}-{listen}"),
            )
            .await
            .map_err(|e| format!("projection live lag: {e}"))?;
            eprintln!(
                "    round {} {}: {} writes, p50 {:.1} ms, p99 {:.1} ms",
                round + 1,
                mode_label(listen),
                r.writes,
                percentile(&r.lags, 50.0),
                percentile(&r.lags, 99.0)
            );
            rounds.push(r);
        }
    }
    // Every event written since the warm-up's first one is in the read
    // model exactly once.
    if let Some(from) = first_position {
        let r = sqlx::query!(
            "SELECT (SELECT COUNT(*) FROM bench_proj_account_events WHERE position > $1) \
             AS \"events!\", \
             (SELECT COUNT(*) FROM bench_proj_live_rows WHERE position > $1) AS \"rows!\", \
             (SELECT COUNT(*) FROM bench_proj_account_events e WHERE e.position > $1 \
              AND NOT EXISTS (SELECT 1 FROM bench_proj_live_rows r WHERE r.position = e.position)) \
             AS \"missing!\"",
            from.position
        )
        .fetch_one(pool)
        .await?;
        if r.missing != 0 || r.rows != r.events {
            return Err(format!(
                "projection live lag: {} events written, {} rows projected, {} missing",
                r.events, r.rows, r.missing
            )
            .into());
        }
    }
    Ok(Live { rounds })
}

fn mode_label(listen: bool) -> &'static str {
    if listen {
        "notify (LISTEN es_feed)"
    } else {
        "polling only, every 100 ms"
    }
}

/// Nearest-rank percentile of unsorted `xs`.
fn percentile(xs: &[f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut sorted = xs.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

// ---------------------------------------------------------------------------
// What the feed columns cost a single write

/// The tables a single write goes to in the cost workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CostLane {
    /// No feed columns.
    Plain,
    /// The feed columns and their index.
    Columns,
    /// The feed columns, their index and the notify trigger.
    Feed,
}

impl CostLane {
    const ALL: [CostLane; 3] = [CostLane::Plain, CostLane::Columns, CostLane::Feed];

    fn label(self) -> &'static str {
        match self {
            CostLane::Plain => "no feed columns",
            CostLane::Columns => "feed columns, no trigger",
            CostLane::Feed => "feed columns + trigger",
        }
    }
}

/// The three repositories of the cost workload.
struct CostRepos {
    plain: CostPlainAccounts,
    columns: CostColumnsAccounts,
    feed: CostFeedAccounts,
}

impl CostRepos {
    async fn create(&self, lane: CostLane, new: NewAccount) -> Res<Account> {
        Ok(match lane {
            CostLane::Plain => self.plain.create(new).await?,
            CostLane::Columns => self.columns.create(new).await?,
            CostLane::Feed => self.feed.create(new).await?,
        })
    }

    async fn create_all(&self, lane: CostLane, new: Vec<NewAccount>) -> Res<Vec<Account>> {
        Ok(match lane {
            CostLane::Plain => self.plain.create_all(new).await?,
            CostLane::Columns => self.columns.create_all(new).await?,
            CostLane::Feed => self.feed.create_all(new).await?,
        })
    }

    async fn update(&self, lane: CostLane, account: &mut Account) -> Res<()> {
        match lane {
            CostLane::Plain => {
                self.plain.update(account).await?;
            }
            CostLane::Columns => {
                self.columns.update(account).await?;
            }
            CostLane::Feed => {
                self.feed.update(account).await?;
            }
        }
        Ok(())
    }
}

pub struct Cost {
    ops: usize,
    /// Per round: one sample per lane (in [`CostLane::ALL`] order), for
    /// create and for update.
    create: Vec<[CostSample; 3]>,
    update: Vec<[CostSample; 3]>,
    server_cpu_readable: bool,
}

/// One lane's calls in one round.
#[derive(Clone, Copy, Default)]
struct CostSample {
    /// Wall time per call, µs.
    wall: f64,
    /// CPU time of the server process serving the connection per call, µs
    /// (`None` when its `/proc/<pid>/sched` cannot be read: a server on
    /// another machine).
    server_cpu: Option<f64>,
}

/// The CPU time the process `pid` has run, ms (Linux's
/// `se.sum_exec_runtime`, nanosecond resolution).
fn process_cpu_ms(pid: i32) -> Option<f64> {
    let sched = std::fs::read_to_string(format!("/proc/{pid}/sched")).ok()?;
    sched
        .lines()
        .find(|l| l.starts_with("se.sum_exec_runtime"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()
}

/// Measures `ops` calls made by `calls` on the cost pool's one connection.
async fn measured<F>(pool: &PgPool, ops: usize, calls: F) -> Res<CostSample>
where
    F: std::future::Future<Output = Res<()>>,
{
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(pool)
        .await?;
    let cpu_before = process_cpu_ms(pid);
    let start = Instant::now();
    calls.await?;
    let wall = start.elapsed().as_secs_f64() * 1e6 / ops as f64;
    let cpu_after = process_cpu_ms(pid);
    let same: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(pool)
        .await?;
    let server_cpu = match (cpu_before, cpu_after) {
        (Some(a), Some(b)) if same == pid => Some((b - a) * 1e3 / ops as f64),
        _ => None,
    };
    Ok(CostSample { wall, server_cpu })
}

fn fresh(prefix: &str, n: usize) -> Vec<NewAccount> {
    (0..n)
        .map(|i| {
            let id = Uuid::now_v7();
            NewAccount {
                id: AccountId::from(id),
                name: format!("{prefix}-{i:05}-{}", id.simple()),
            }
        })
        .collect()
}

async fn cost_creates(
    pool: &PgPool,
    repos: &CostRepos,
    lane: CostLane,
    new: Vec<NewAccount>,
) -> Res<CostSample> {
    let n = new.len();
    measured(pool, n, async {
        for account in new {
            repos.create(lane, account).await?;
        }
        Ok(())
    })
    .await
}

async fn cost_updates(
    pool: &PgPool,
    repos: &CostRepos,
    lane: CostLane,
    accounts: &mut [Account],
) -> Res<CostSample> {
    let n = accounts.len();
    measured(pool, n, async {
        for account in accounts.iter_mut() {
            account.deposit(1);
            repos.update(lane, account).await?;
        }
        Ok(())
    })
    .await
}

/// The feed-column cost, on a pool of one connection (so one server process
/// serves every call, and its CPU time can be read).
pub async fn cost(url: &str, p: &Params) -> Res<Cost> {
    let options: PgConnectOptions = url.parse()?;
    let options = options
        .ssl_mode(PgSslMode::Disable)
        .disable_statement_logging();
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .connect_with(options)
        .await?;
    let pool = &pool;
    let repos = CostRepos {
        plain: CostPlainAccounts::new(pool.clone()),
        columns: CostColumnsAccounts::new(pool.clone()),
        feed: CostFeedAccounts::new(pool.clone()),
    };
    let ops = p.cost_ops;
    let mut sets = Vec::with_capacity(3);
    for lane in CostLane::ALL {
        sets.push(repos.create_all(lane, fresh("cu", ops)).await?);
    }
    sqlx::query(
        "ANALYZE bench_cost_plain_accounts, bench_cost_plain_account_events, \
         bench_cost_columns_accounts, bench_cost_columns_account_events, \
         bench_cost_feed_accounts, bench_cost_feed_account_events",
    )
    .execute(pool)
    .await?;
    eprintln!(
        "  projection feed-column cost: {} rounds x 3 lanes x {ops} creates and {ops} updates",
        p.cost_rounds
    );
    // Warm-up.
    for (i, lane) in CostLane::ALL.into_iter().enumerate() {
        cost_creates(pool, &repos, lane, fresh("cw", ops.div_ceil(5))).await?;
        let warm = ops.div_ceil(5).min(sets[i].len());
        cost_updates(pool, &repos, lane, &mut sets[i][..warm]).await?;
    }
    let mut create = Vec::with_capacity(p.cost_rounds);
    let mut update = Vec::with_capacity(p.cost_rounds);
    for round in 0..p.cost_rounds {
        let mut c = [CostSample::default(); 3];
        let mut u = [CostSample::default(); 3];
        for k in 0..3 {
            let i = (round + k) % 3;
            let new = fresh(&format!("cr{round}"), ops);
            c[i] = cost_creates(pool, &repos, CostLane::ALL[i], new).await?;
        }
        for k in 0..3 {
            let i = (round + k) % 3;
            u[i] = cost_updates(pool, &repos, CostLane::ALL[i], &mut sets[i]).await?;
        }
        create.push(c);
        update.push(u);
    }
    let server_cpu_readable = create
        .iter()
        .chain(&update)
        .all(|r| r.iter().all(|s| s.server_cpu.is_some()));
    Ok(Cost {
        ops,
        create,
        update,
        server_cpu_readable,
    })
}

// ---------------------------------------------------------------------------
// Report

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn min_max(xs: &[f64]) -> (f64, f64) {
    xs.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

fn list(xs: &[f64], digits: usize) -> String {
    xs.iter()
        .map(|x| format!("{x:.digits$}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn print_catch_up(c: &CatchUp) {
    println!();
    println!(
        "Projection catch-up: {} events ({} accounts x {} events), batches of {BATCH} events, \
         one read-model row (one INSERT) per event; {} interleaved rounds (the order rotates), \
         each from an empty read model and checkpoint to the commit of the last event; \
         median over rounds, range = min..max of the per-round ratio; client cpu = this \
         process's CPU time, server cpu = the CPU time of the PostgreSQL process serving the \
         batches (from /proc)",
        c.events,
        c.accounts,
        1 + DEPOSITS,
        c.samples.len()
    );
    let header = format!(
        "{:<28} {:>8} {:>9} {:>22} {:>10} {:>10} {:>12}",
        "", "seconds", "events/s", "time / floor", "client cpu", "server cpu", "cpu / floor"
    );
    println!("{header}");
    println!("{}", "-".repeat(header.chars().count()));
    let secs: Vec<Vec<f64>> = (0..3)
        .map(|i| c.samples.iter().map(|s| s[i].wall.as_secs_f64()).collect())
        .collect();
    let cpu = |i: usize, f: fn(&CatchUpSample) -> Option<f64>| -> Option<f64> {
        let xs: Option<Vec<f64>> = c.samples.iter().map(|s| f(&s[i])).collect();
        xs.map(median)
    };
    let med: Vec<f64> = secs.iter().map(|v| median(v.clone())).collect();
    let total_cpu = |i: usize| Some(cpu(i, |s| s.client_cpu)? + cpu(i, |s| s.server_cpu)?);
    for (i, lane) in Lane::ALL.into_iter().enumerate() {
        let ratios: Vec<f64> = secs[i].iter().zip(&secs[1]).map(|(a, b)| a / b).collect();
        let (lo, hi) = min_max(&ratios);
        let ratio = if lane == Lane::Floor {
            "1.00".to_owned()
        } else {
            format!("{:.3} ({lo:.3}..{hi:.3})", med[i] / med[1])
        };
        let show = |x: Option<f64>| x.map_or("n/a".to_owned(), |x| format!("{x:.2}"));
        let cpu_ratio = match (total_cpu(i), total_cpu(1)) {
            (Some(a), Some(b)) => format!("{:.3}", a / b),
            _ => "n/a".to_owned(),
        };
        println!(
            "{:<28} {:>8.2} {:>9.0} {:>22} {:>10} {:>10} {:>12}",
            lane.label(),
            med[i],
            c.events as f64 / med[i],
            ratio,
            show(cpu(i, |s| s.client_cpu)),
            show(cpu(i, |s| s.server_cpu)),
            cpu_ratio,
        );
    }
    for (i, lane) in Lane::ALL.into_iter().enumerate() {
        println!("per round, {:<8} s: {}", lane.short(), list(&secs[i], 2));
    }
    let ours_floor: Vec<f64> = secs[0].iter().zip(&secs[1]).map(|(a, b)| a / b).collect();
    println!("per round, ours/floor: {}", list(&ours_floor, 3));
    let fastest: Vec<f64> = secs.iter().map(|v| min_max(v).0).collect();
    println!(
        "fastest round (the least disturbed): ours {:.2} s, floor {:.2} s, floor-1 {:.2} s; \
         ours/floor {:.3}",
        fastest[0],
        fastest[1],
        fastest[2],
        fastest[0] / fastest[1]
    );
    println!(
        "Statements per batch (sqlx's statement log; BEGIN, which sqlx sends outside it, added):"
    );
    for (i, lane) in Lane::ALL.into_iter().enumerate() {
        match &c.shapes[i] {
            Some((shape, alike, of)) => println!(
                "  {:<8} {:>4} = {} ({alike} of the {of} batches after the first alike)",
                lane.short(),
                shape.statements,
                shape.text
            ),
            None => println!("  {:<8} not counted", lane.short()),
        }
    }
}

pub fn print_live(l: &Live) {
    println!();
    println!(
        "Projection live lag: one writer, {LIVE_RATE:.0} single-entity writes/s through the \
         repository (creates and deposits alternating), while a runner follows; lag = from the \
         write returning (committed) to the runner's commit of that event, seen through \
         feed_checkpoint_of + handle.wait_for; the modes alternate round by round"
    );
    let header = format!(
        "{:<30} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8} {:>14} {:>15}",
        "mode",
        "writes",
        "writes/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "cp query p50",
        "foreign writer"
    );
    println!("{header}");
    println!("{}", "-".repeat(header.chars().count()));
    for listen in [true, false] {
        let rounds: Vec<&LiveRound> = l.rounds.iter().filter(|r| r.listen == listen).collect();
        let lags: Vec<f64> = rounds.iter().flat_map(|r| r.lags.iter().copied()).collect();
        let cps: Vec<f64> = rounds
            .iter()
            .flat_map(|r| r.checkpoint_queries.iter().copied())
            .collect();
        let writes: usize = rounds.iter().map(|r| r.writes).sum();
        let secs: f64 = rounds.iter().map(|r| r.secs).sum();
        let samples: usize = rounds.iter().map(|r| r.samples).sum();
        let foreign: usize = rounds.iter().map(|r| r.foreign_writers).sum();
        println!(
            "{:<30} {:>7} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>11.2} ms {:>14.0}%",
            mode_label(listen),
            writes,
            writes as f64 / secs,
            percentile(&lags, 50.0),
            percentile(&lags, 90.0),
            percentile(&lags, 99.0),
            percentile(&lags, 100.0),
            percentile(&cps, 50.0),
            100.0 * foreign as f64 / samples.max(1) as f64,
        );
    }
    println!(
        "foreign writer = share of samples (every {} ms) in which a transaction that writes was \
         open in another database of the server: it holds the feed's horizon back, so lags \
         measured meanwhile are not the runner's alone",
        SAMPLE.as_millis()
    );
    for listen in [true, false] {
        let per_round: Vec<String> = l
            .rounds
            .iter()
            .filter(|r| r.listen == listen)
            .map(|r| {
                format!(
                    "{:.1}/{:.1}",
                    percentile(&r.lags, 50.0),
                    percentile(&r.lags, 99.0)
                )
            })
            .collect();
        println!(
            "per round p50/p99 ms, {}: {}",
            if listen { "notify" } else { "polling" },
            per_round.join(" ")
        );
    }
}

pub fn print_cost(c: &Cost) {
    println!();
    println!(
        "Feed columns on single-entity writes: the same entity on three pairs of tables, \
         without the feed columns, with them (and their index), and with them and the notify \
         trigger (nobody listening); one connection; {} interleaved rounds of {} calls per \
         lane; median over rounds, range = min..max of the per-round ratio; server cpu = CPU \
         time of the PostgreSQL process serving the connection (from /proc), per call",
        c.create.len(),
        c.ops
    );
    let header = format!(
        "{:<8} {:<26} {:>9} {:>22} {:>14} {:>22}",
        "workload", "tables", "wall µs", "wall / no feed", "server cpu µs", "cpu / no feed"
    );
    println!("{header}");
    println!("{}", "-".repeat(header.chars().count()));
    for (label, rows) in [("create", &c.create), ("update", &c.update)] {
        for (i, lane) in CostLane::ALL.into_iter().enumerate() {
            let wall = median(rows.iter().map(|r| r[i].wall).collect());
            let ratio = |f: fn(&CostSample) -> Option<f64>| -> String {
                let per_round: Option<Vec<f64>> =
                    rows.iter().map(|r| Some(f(&r[i])? / f(&r[0])?)).collect();
                let meds: Option<(Vec<f64>, Vec<f64>)> = rows
                    .iter()
                    .map(|r| Some((f(&r[i])?, f(&r[0])?)))
                    .collect::<Option<Vec<_>>>()
                    .map(|v| v.into_iter().unzip());
                match (per_round, meds) {
                    (Some(_), Some(_)) if i == 0 => "1.00".to_owned(),
                    (Some(per_round), Some((xs, bases))) => {
                        let (lo, hi) = min_max(&per_round);
                        format!("{:.3} ({lo:.3}..{hi:.3})", median(xs) / median(bases))
                    }
                    _ => "n/a".to_owned(),
                }
            };
            let cpu = if c.server_cpu_readable {
                format!(
                    "{:.1}",
                    median(rows.iter().filter_map(|r| r[i].server_cpu).collect())
                )
            } else {
                "n/a".to_owned()
            };
            println!(
                "{:<8} {:<26} {:>9.1} {:>22} {:>14} {:>22}",
                label,
                lane.label(),
                wall,
                ratio(|s| Some(s.wall)),
                cpu,
                ratio(|s| s.server_cpu),
            );
        }
    }
    for (label, rows) in [("create", &c.create), ("update", &c.update)] {
        for i in 1..3 {
            let ratios: Vec<f64> = rows.iter().map(|r| r[i].wall / r[0].wall).collect();
            println!(
                "per round wall / no feed, {label}, {}: {}",
                CostLane::ALL[i].label(),
                list(&ratios, 3)
            );
        }
    }
}
