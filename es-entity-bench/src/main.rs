//! es-entity-bench: our generated repositories against the floor
//! (hand-written sqlx), the peer (the newest es-entity on crates.io) and
//! peer012 (the older es-entity 0.12.10 from crates.io, in `peer012/`).
//!
//! Run (release mode; needs the PostgreSQL the tests use):
//!
//! ```sh
//! cd es-entity-bench && cargo run --release            # full run, a few minutes
//! cd es-entity-bench && cargo run --release -- --quick # short run
//! ```
//!
//! Every account workload runs through the four implementations in
//! interleaved rounds: round r runs ours, floor, peer, peer012 starting at
//! position r mod 4, so each implementation takes every position equally
//! often (over four rounds) and a slow phase of the machine hits all four.
//! The table reports, per implementation, the median over rounds of µs per
//! operation.
//!
//! The snapshot and nested workloads (src/deep.rs: `--only snapshot`,
//! `--only nested`; also in the default run) add rows to the table and
//! print, after it, their statements and rows per operation. They, and the
//! projection workloads, compare ours, the floor and the peer only: their
//! rows show `—` in the peer012 columns.
//!
//! The projection workloads (`--only projection`, src/projection.rs) follow
//! the table: a projection's catch-up against a hand-written loop, a
//! runner's live lag, and what the feed columns cost a single write.

mod context;
mod deep;
mod floor;
mod ours;
mod peer;
mod peer012;
mod projection;
mod schema;
mod statements;
mod subject;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use uuid::Uuid;

use subject::{BoxError, Res, Subject, Write};

/// Accounts listed by `list_by_name`, all with two events.
const LISTED: usize = 10_000;
const PAGE: usize = 100;
/// Events of the long-history account.
const LONG_HISTORY: usize = 1_000;
const BULK: usize = 1_000;
/// Batch sizes of the per-entity curve (`--only batch`).
const CURVE: [usize; 4] = [10, 100, 1_000, 10_000];
/// Entities each implementation writes per round of a curve workload.
const CURVE_ENTITIES: usize = 10_000;
const TASKS: usize = 8;
/// Connections per pool (the contention workload needs `TASKS`).
const POOL_SIZE: u32 = 10;
/// The implementations of the main table, in the order of its columns (and
/// of [`Row::samples`]).
const SUBJECTS: [&str; 4] = ["ours", "floor", "peer", "peer012"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    ListByName,
    FindById2,
    FindById1000,
    FindByName,
    Create,
    Update,
    CreateAll,
    UpdateAll,
    /// `update_all` where every entity also changes its indexed `name`.
    UpdateAllRenamed,
    /// The same listing again, once the writes have grown the tables.
    ListByNameLate,
    Contention,
    /// `create_all` in calls of this many entities, timed per entity
    /// (opt-in: `--only batch`).
    CreateAllBatch(usize),
    /// `update_all` of this many entities (one event each), per entity.
    UpdateAllBatch(usize),
}

impl Workload {
    const ALL: [Workload; 11] = [
        Workload::ListByName,
        Workload::FindById2,
        Workload::FindById1000,
        Workload::FindByName,
        Workload::Create,
        Workload::Update,
        Workload::CreateAll,
        Workload::UpdateAll,
        Workload::UpdateAllRenamed,
        Workload::ListByNameLate,
        Workload::Contention,
    ];

    /// The batch-size curve: `create_all` then `update_all` at each size.
    fn curve() -> impl Iterator<Item = Workload> {
        CURVE
            .into_iter()
            .map(Workload::CreateAllBatch)
            .chain(CURVE.into_iter().map(Workload::UpdateAllBatch))
    }

    /// Entities one operation writes: the batch size for the curve (whose
    /// rows are per entity), 1 otherwise.
    fn entities_per_op(self) -> usize {
        match self {
            Workload::CreateAllBatch(n) | Workload::UpdateAllBatch(n) => n,
            _ => 1,
        }
    }

    fn label(self, cfg: &Config) -> String {
        match self {
            Workload::CreateAllBatch(n) => format!("batch create_all ({n}) per entity"),
            Workload::UpdateAllBatch(n) => format!("batch update_all ({n}) per entity"),
            Workload::Create => "create".into(),
            Workload::Update => "update (1 event)".into(),
            Workload::FindById2 => "find_by_id (2 events)".into(),
            Workload::FindById1000 => format!("find_by_id ({LONG_HISTORY} events)"),
            Workload::FindByName => "find_by_name (2 events)".into(),
            // Both listings get their table sizes in the label at run time.
            Workload::ListByName | Workload::ListByNameLate => format!("list_by_name ({PAGE})"),
            Workload::CreateAll => format!("create_all ({BULK}) per call"),
            Workload::UpdateAll => format!("update_all ({BULK}) per call"),
            Workload::UpdateAllRenamed => format!("update_all ({BULK}) renaming, per call"),
            Workload::Contention => format!("{TASKS} tasks x {} updates, 1 row", cfg.contention_k),
        }
    }

    /// Operations per implementation per round.
    fn ops(self, cfg: &Config) -> usize {
        let full: usize = match self {
            Workload::ListByName | Workload::ListByNameLate => 60,
            Workload::FindById2 | Workload::FindByName => 1000,
            Workload::FindById1000 => 50,
            Workload::Create | Workload::Update => 500,
            Workload::CreateAll | Workload::UpdateAll | Workload::UpdateAllRenamed => 5,
            Workload::Contention => 1,
            Workload::CreateAllBatch(n) | Workload::UpdateAllBatch(n) => CURVE_ENTITIES / n,
        };
        if cfg.quick { full.div_ceil(5) } else { full }
    }

    /// How many rounds of `ops / n` operations a round is split into. A bulk
    /// call writes about a megabyte of WAL: a slow moment of the disk
    /// (a checkpoint's flush) lasts several calls, so the four
    /// implementations alternate call by call there, each call its own round.
    fn split(self, cfg: &Config) -> usize {
        match self {
            Workload::CreateAll | Workload::UpdateAll | Workload::UpdateAllRenamed => self.ops(cfg),
            Workload::CreateAllBatch(n) | Workload::UpdateAllBatch(n) if n >= BULK => self.ops(cfg),
            _ => 1,
        }
    }
}

/// The projection workloads, by label (selected with `--only` like the
/// others; `--only projection` runs the three).
const PROJECTION_CATCH_UP: &str = "projection catch-up";
const PROJECTION_LIVE: &str = "projection live lag";
const PROJECTION_COST: &str = "projection feed-column cost";

struct Config {
    quick: bool,
    rounds: usize,
    /// `--rounds`, when given (it then applies to the projection workloads too).
    rounds_given: Option<usize>,
    contention_k: usize,
    /// Run only the workloads whose label contains one of these.
    only: Vec<String>,
    /// Run only these implementations (`--subject`; all when empty): for
    /// instruction counts of one implementation's work alone.
    subjects: Vec<String>,
}

impl Config {
    fn from_args() -> Result<Self, String> {
        let mut cfg = Config {
            quick: false,
            rounds: 9,
            rounds_given: None,
            contention_k: 25,
            only: Vec::new(),
            subjects: Vec::new(),
        };
        let mut rounds = None;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => cfg.quick = true,
                "--rounds" => {
                    let n = args.next().ok_or("--rounds needs a number")?;
                    rounds = Some(
                        n.parse()
                            .map_err(|_| format!("--rounds {n}: not a number"))?,
                    );
                }
                "--subject" => {
                    let name = args
                        .next()
                        .ok_or("--subject needs ours, floor, peer or peer012")?;
                    if !SUBJECTS.contains(&name.as_str()) {
                        return Err(format!(
                            "--subject {name}: not ours, floor, peer or peer012"
                        ));
                    }
                    cfg.subjects.push(name);
                }
                "--only" => cfg.only.push(
                    args.next()
                        .ok_or("--only needs part of a workload's name")?,
                ),
                "-h" | "--help" => {
                    println!(
                        "usage: cargo run --release [-- --quick] [-- --rounds N] [-- --only NAME]...\n\
                         --only runs just the workloads whose name contains NAME \
                         (`--only projection`: the projection workloads; `--only snapshot`, \
                         `--only nested`: the snapshot and nested workloads; `--only context`: \
                         what an EventContext costs a write; `--only batch`: the batch-size \
                         curve of create_all/update_all, which runs only when named).\n\
                         --subject ours|floor|peer|peer012 (repeatable) seeds and runs only \
                         those implementations in the main table (the others' columns show —): \
                         for instruction counts of one implementation alone.\n\
                         DATABASE_URL (default {}) is the database; the bench tables \
                         (bench_*, and the schema es_entity_bench) are created there and \
                         truncated at start.",
                        schema::DEFAULT_DATABASE_URL
                    );
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument `{other}` (try --help)")),
            }
        }
        if cfg.quick {
            cfg.rounds = 3;
            cfg.contention_k = 5;
        }
        if let Some(r) = rounds {
            if r == 0 {
                return Err("--rounds must be at least 1".into());
            }
            cfg.rounds = r;
            cfg.rounds_given = Some(r);
        }
        Ok(cfg)
    }

    /// Whether `--subject` (or its absence) includes the implementation `name`.
    fn subject(&self, name: &str) -> bool {
        self.subjects.is_empty() || self.subjects.iter().any(|s| s == name)
    }

    /// Whether `--only` selects the workload labelled `label`.
    fn selects(&self, label: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| label.contains(o.as_str()))
    }

    /// Whether `--only` names the workload labelled `label` (the opt-in
    /// ones, such as the batch-size curve, run only when asked for).
    fn names(&self, label: &str) -> bool {
        self.only.iter().any(|o| label.contains(o.as_str()))
    }

    /// Whether the run includes `workload`.
    fn runs(&self, workload: Workload) -> bool {
        let label = workload.label(self);
        match workload {
            Workload::CreateAllBatch(_) | Workload::UpdateAllBatch(_) => self.names(&label),
            _ => self.selects(&label),
        }
    }

    /// The sizes of the projection workloads: 100,000 events and the usual
    /// rounds for the catch-up and the feed-column cost, 5 live-lag rounds
    /// of 5 s per mode (`--quick`: 20,000 events, 1 live round of 2 s);
    /// `--rounds` sets the live rounds too.
    fn projection(&self) -> projection::Params {
        let (fill_accounts, live_rounds, live_secs, cost_ops) = if self.quick {
            (4_000, 1, 2.0, 100)
        } else {
            (20_000, 5, 5.0, 500)
        };
        projection::Params {
            catch_up: self.selects(PROJECTION_CATCH_UP),
            live: self.selects(PROJECTION_LIVE),
            cost: self.selects(PROJECTION_COST),
            fill_accounts,
            catch_up_rounds: self.rounds,
            live_rounds: self.rounds_given.unwrap_or(live_rounds),
            live_secs,
            cost_rounds: self.rounds,
            cost_ops,
        }
    }
}

/// One implementation's measurement of one round.
#[derive(Debug, Clone, Copy)]
struct Sample {
    elapsed: Duration,
    ops: usize,
    conflicts: u64,
}

impl Sample {
    fn us_per_op(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1e6 / self.ops as f64
    }
}

/// The identical inputs every implementation gets, generated once.
struct Inputs {
    /// The listed accounts, in name order.
    listed: Vec<(Uuid, String)>,
    long_history: (Uuid, String),
}

/// One implementation and the entities its workloads keep between rounds.
struct Lane<S: Subject> {
    subject: Arc<S>,
    list_cursor: Option<S::Cursor>,
    list_page: usize,
    update_set: Vec<S::Entity>,
    bulk_set: Vec<S::Entity>,
    /// Contention rounds that verified.
    verified: usize,
    /// `update_all` renaming calls so far: each call's names are new.
    renames: usize,
}

impl<S: Subject> Lane<S> {
    fn new(subject: S) -> Self {
        Self {
            subject: Arc::new(subject),
            list_cursor: None,
            list_page: 0,
            update_set: Vec::new(),
            bulk_set: Vec::new(),
            verified: 0,
            renames: 0,
        }
    }

    /// The accounts the read workloads use, written through the
    /// implementation's own bulk calls (untimed).
    async fn seed(&mut self, inputs: &Inputs) -> Res<()> {
        let s = &*self.subject;
        for chunk in inputs.listed.chunks(BULK) {
            let mut created = s.create_all(chunk.to_vec()).await?;
            for account in &mut created {
                S::deposit(account, 1);
            }
            s.update_all(&mut created).await?;
        }
        let (id, name) = inputs.long_history.clone();
        let mut long = s.create(id, name).await?;
        for _ in 1..LONG_HISTORY {
            S::deposit(&mut long, 1);
        }
        expect_done(s.update(&mut long).await?)?;
        Ok(())
    }

    /// Untimed preparation before a workload's warm-up.
    async fn prepare(&mut self, workload: Workload, fresh: &Fresh) -> Res<()> {
        match workload {
            Workload::Update => {
                self.update_set = self.subject.create_all(fresh.update_set.clone()).await?;
            }
            Workload::UpdateAll | Workload::UpdateAllRenamed | Workload::UpdateAllBatch(_) => {
                self.bulk_set = Vec::with_capacity(fresh.bulk_set.len());
                for chunk in fresh.bulk_set.chunks(BULK) {
                    self.bulk_set
                        .extend(self.subject.create_all(chunk.to_vec()).await?);
                }
            }
            Workload::ListByNameLate => {
                self.list_cursor = None;
                self.list_page = 0;
            }
            _ => {}
        }
        Ok(())
    }

    /// Runs `ops` operations of `workload`; `batch` holds the new accounts
    /// of the write workloads (the same for every implementation).
    async fn run(
        &mut self,
        workload: Workload,
        ops: usize,
        round: usize,
        inputs: &Inputs,
        batch: &RoundInput,
        cfg: &Config,
    ) -> Res<Sample> {
        let s = &*self.subject;
        let start = Instant::now();
        match workload {
            Workload::ListByName | Workload::ListByNameLate => {
                for _ in 0..ops {
                    if self.list_page == LISTED / PAGE {
                        self.list_page = 0;
                        self.list_cursor = None;
                    }
                    let (n, next) = s.list_by_name(PAGE, self.list_cursor.take()).await?;
                    check(n == PAGE, || format!("page of {n}, expected {PAGE}"))?;
                    self.list_cursor = next;
                    self.list_page += 1;
                }
            }
            Workload::FindById2 => {
                for i in 0..ops {
                    let (id, _) = &inputs.listed[pick(round, i)];
                    let account = s.find_by_id(*id).await?;
                    check(S::persisted_events(&account) == 2, || {
                        "expected 2 events".into()
                    })?;
                }
            }
            Workload::FindById1000 => {
                for _ in 0..ops {
                    let account = s.find_by_id(inputs.long_history.0).await?;
                    check(S::persisted_events(&account) == LONG_HISTORY, || {
                        format!("expected {LONG_HISTORY} events")
                    })?;
                }
            }
            Workload::FindByName => {
                for i in 0..ops {
                    let (id, name) = &inputs.listed[pick(round, i)];
                    let account = s.find_by_name(name).await?;
                    check(S::id(&account) == *id, || {
                        format!("wrong account for {name}")
                    })?;
                }
            }
            Workload::Create => {
                for (id, name) in batch.singles.iter().take(ops) {
                    s.create(*id, name.clone()).await?;
                }
            }
            Workload::Update => {
                for account in self.update_set.iter_mut().take(ops) {
                    S::deposit(account, 1);
                    expect_done(s.update(account).await?)?;
                }
            }
            Workload::CreateAll | Workload::CreateAllBatch(_) => {
                let size = if workload == Workload::CreateAll {
                    BULK
                } else {
                    workload.entities_per_op()
                };
                for new in batch.bulks.iter().take(ops) {
                    let created = s.create_all(new.clone()).await?;
                    check(created.len() == size, || "short create_all".into())?;
                }
            }
            Workload::UpdateAll | Workload::UpdateAllBatch(_) => {
                let size = self.bulk_set.len();
                for _ in 0..ops {
                    for account in self.bulk_set.iter_mut() {
                        S::deposit(account, 1);
                    }
                    let n = s.update_all(&mut self.bulk_set).await?;
                    check(n == size, || {
                        format!("update_all wrote {n} events, not {size}")
                    })?;
                }
            }
            Workload::UpdateAllRenamed => {
                for _ in 0..ops {
                    self.renames += 1;
                    for (i, account) in self.bulk_set.iter_mut().enumerate() {
                        S::rename(account, format!("uar-{i:04}-{}", self.renames));
                    }
                    let n = s.update_all(&mut self.bulk_set).await?;
                    check(n == BULK, || format!("update_all wrote {n} events"))?;
                    if round == 0 {
                        // Warm-up only (not timed): the index rows did change.
                        let last = format!("uar-{:04}-{}", BULK - 1, self.renames);
                        let found = s.find_by_name(&last).await?;
                        check(S::id(&found) == S::id(&self.bulk_set[BULK - 1]), || {
                            format!("{last} not found after update_all")
                        })?;
                    }
                }
            }
            Workload::Contention => {
                // Untimed: the fresh account all tasks update.
                let (id, name) = batch.contended.clone();
                s.create(id, name).await?;
                let k = if batch.warmup { 2 } else { cfg.contention_k };
                let start = Instant::now();
                let conflicts = contend(&self.subject, id, k).await?;
                let elapsed = start.elapsed();
                let account = s.find_by_id(id).await?;
                let total = TASKS * k;
                if S::persisted_events(&account) != 1 + total
                    || S::balance(&account) != total as i64
                {
                    return Err(format!(
                        "{}: contended account has {} events and balance {}, expected {} deposits of 1",
                        S::NAME,
                        S::persisted_events(&account),
                        S::balance(&account),
                        total
                    )
                    .into());
                }
                if !batch.warmup {
                    self.verified += 1;
                }
                return Ok(Sample {
                    elapsed,
                    ops: total,
                    conflicts,
                });
            }
        }
        Ok(Sample {
            elapsed: start.elapsed(),
            ops: ops * workload.entities_per_op(),
            conflicts: 0,
        })
    }
}

/// `TASKS` tasks each deposit 1 `k` times into account `id`: load once,
/// then deposit-and-update, reloading and retrying after every lost race.
/// Returns the number of conflicts retried.
async fn contend<S: Subject>(subject: &Arc<S>, id: Uuid, k: usize) -> Res<u64> {
    let mut handles = Vec::with_capacity(TASKS);
    for _ in 0..TASKS {
        let s = Arc::clone(subject);
        handles.push(tokio::spawn(async move {
            let mut conflicts = 0u64;
            let mut account = s.find_by_id(id).await?;
            for _ in 0..k {
                loop {
                    S::deposit(&mut account, 1);
                    match s.update(&mut account).await? {
                        Write::Done => break,
                        Write::Conflict => {
                            conflicts += 1;
                            account = s.find_by_id(id).await?;
                        }
                    }
                }
            }
            Ok::<u64, BoxError>(conflicts)
        }));
    }
    let mut conflicts = 0;
    for handle in handles {
        conflicts += handle.await.map_err(|e| format!("task panicked: {e}"))??;
    }
    Ok(conflicts)
}

fn expect_done(w: Write) -> Res<()> {
    match w {
        Write::Done => Ok(()),
        Write::Conflict => Err("unexpected concurrency conflict (single writer)".into()),
    }
}

fn check(ok: bool, why: impl FnOnce() -> String) -> Res<()> {
    if ok { Ok(()) } else { Err(why().into()) }
}

/// A deterministic spread of listed accounts: op `i` of round `round`.
fn pick(round: usize, i: usize) -> usize {
    (round * 7_919 + i * 104_729) % LISTED
}

/// New accounts for one round of the write workloads (same for all four).
struct RoundInput {
    singles: Vec<(Uuid, String)>,
    bulks: Vec<Vec<(Uuid, String)>>,
    contended: (Uuid, String),
    warmup: bool,
}

/// Accounts created untimed before a workload.
struct Fresh {
    update_set: Vec<(Uuid, String)>,
    bulk_set: Vec<(Uuid, String)>,
}

fn new_accounts(prefix: &str, n: usize) -> Vec<(Uuid, String)> {
    (0..n)
        .map(|i| {
            let id = Uuid::now_v7();
            (id, format!("{prefix}-{i:05}-{}", id.simple()))
        })
        .collect()
}

fn round_input(workload: Workload, ops: usize, tag: &str) -> RoundInput {
    let (singles, bulks) = match workload {
        Workload::Create => (new_accounts(&format!("c-{tag}"), ops), Vec::new()),
        Workload::CreateAll => (
            Vec::new(),
            (0..ops)
                .map(|b| new_accounts(&format!("b-{tag}-{b}"), BULK))
                .collect(),
        ),
        Workload::CreateAllBatch(n) => (
            Vec::new(),
            (0..ops)
                .map(|b| new_accounts(&format!("bc{n}-{tag}-{b}"), n))
                .collect(),
        ),
        _ => (Vec::new(), Vec::new()),
    };
    RoundInput {
        singles,
        bulks,
        contended: new_accounts(&format!("k-{tag}"), 1).remove(0),
        warmup: tag.starts_with('w'),
    }
}

/// Medians and per-round ratios of one workload.
struct Row {
    label: String,
    /// [ours, floor, peer, peer012] samples, one per round; empty for an
    /// implementation that did not run the workload (left out with
    /// `--subject`, or peer012 on the snapshot and nested workloads).
    samples: [Vec<Sample>; 4],
}

impl Row {
    /// A row of the three-way workloads (src/deep.rs): no peer012 samples.
    fn three_way(label: String, [ours, floor, peer]: [Vec<Sample>; 3]) -> Self {
        Row {
            label,
            samples: [ours, floor, peer, Vec::new()],
        }
    }
}

/// `cell()` when `present`, else "—" (a table cell with nothing to show).
fn or_dash(present: bool, cell: impl FnOnce() -> String) -> String {
    if present { cell() } else { "—".into() }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n == 0 {
        // An implementation left out with `--subject`.
        return f64::NAN;
    }
    if n % 2 == 1 {
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

async fn pg_pool(url: &str) -> Res<sqlx::PgPool> {
    pg_pool_logged(url, false).await
}

/// [`pg_pool`]; with `log`, every statement is reported at one level (for
/// src/statements.rs).
async fn pg_pool_logged(url: &str, log: bool) -> Res<sqlx::PgPool> {
    let options: PgConnectOptions = url.parse()?;
    let mut options = options
        .ssl_mode(PgSslMode::Disable)
        .disable_statement_logging();
    if log {
        options = options
            .log_statements(log::LevelFilter::Info)
            .log_slow_statements(log::LevelFilter::Info, Duration::from_secs(3600));
    }
    Ok(PgPoolOptions::new()
        .max_connections(POOL_SIZE)
        .connect_with(options)
        .await?)
}

async fn analyze(pool: &sqlx::PgPool) -> Res<()> {
    sqlx::query(
        "ANALYZE bench_ours_accounts, bench_ours_account_events, \
         bench_floor_accounts, bench_floor_account_events, \
         bench_peer_accounts, bench_peer_account_events, \
         bench_peer012_accounts, bench_peer012_account_events",
    )
    .execute(pool)
    .await?;
    Ok(())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The machine's 1-minute load average (`/proc/loadavg`): other work sharing
/// the CPUs shows in the numbers.
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next().map(str::to_owned)
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[tokio::main]
async fn main() {
    let cfg = match Config::from_args() {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("es-entity-bench: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(cfg).await {
        eprintln!("es-entity-bench: {e}");
        std::process::exit(1);
    }
}

async fn run(cfg: Config) -> Res<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; use `cargo run --release` for meaningful numbers");
    }
    let proj = cfg.projection();
    let any_main = Workload::ALL
        .into_iter()
        .chain(Workload::curve())
        .any(|w| cfg.runs(w));
    let context = cfg.selects(context::LABEL);
    let any_deep = deep::selected(&cfg);
    let any_proj = proj.catch_up || proj.live || proj.cost;
    if !any_main && !any_proj && !context && !any_deep {
        return Err(format!("--only {:?} selects no workload (try --help)", cfg.only).into());
    }
    // Before any connection: the statement counter of the catch-up is the
    // process's global tracing subscriber.
    let counting = (proj.catch_up || any_deep) && statements::install();
    let url = schema::database_url();
    schema::prepare(&url).await?;
    let admin = pg_pool(&url).await?;
    let pg_version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(&admin)
        .await?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = if args.is_empty() {
        "cd es-entity-bench && cargo run --release".to_owned()
    } else {
        format!(
            "cd es-entity-bench && cargo run --release -- {}",
            args.join(" ")
        )
    };
    let total_start = Instant::now();
    let load_start = load_average();
    let (mut rows, verified) = if any_main {
        run_main(&cfg, &url, &admin).await?
    } else {
        (Vec::new(), [0; 4])
    };
    let deep_report = if any_deep {
        let mut report = deep::run(&cfg, &url, &admin, counting).await?;
        rows.extend(report.take_rows());
        Some(report)
    } else {
        None
    };
    let context_cost = if context {
        Some(context::cost(&url, cfg.rounds, if cfg.quick { 100 } else { 500 }).await?)
    } else {
        None
    };
    let (mut catch_up, mut live, mut cost) = (None, None, None);
    if any_proj {
        let pool = projection::pool(&url, false).await?;
        projection::truncate(&pool).await?;
        if proj.catch_up {
            let counting_pool = if counting {
                Some(projection::pool(&url, true).await?)
            } else {
                None
            };
            catch_up = Some(projection::catch_up(&pool, counting_pool.as_ref(), &proj).await?);
        }
        if proj.live {
            live = Some(projection::live(&pool, &proj).await?);
        }
        if proj.cost {
            cost = Some(projection::cost(&url, &proj).await?);
        }
    }
    let total = total_start.elapsed();
    let load = (load_start, load_average());

    print_report(&cfg, &rows, &pg_version, &command, (total, load), verified);
    if let Some(report) = &deep_report {
        deep::print(report);
    }
    if let Some(c) = &context_cost {
        context::print(c);
    }
    if let Some(c) = &catch_up {
        projection::print_catch_up(c);
    }
    if let Some(l) = &live {
        projection::print_live(l);
    }
    if let Some(c) = &cost {
        projection::print_cost(c);
    }
    Ok(())
}

/// The workloads of the main table; returns its rows and the contention
/// rounds each implementation verified.
async fn run_main(cfg: &Config, url: &str, admin: &sqlx::PgPool) -> Res<(Vec<Row>, [usize; 4])> {
    let ours_pool = pg_pool(url).await?;
    let floor_pool = pg_pool(url).await?;
    sqlx::query(
        "TRUNCATE bench_ours_account_events, bench_ours_accounts, \
         bench_floor_account_events, bench_floor_accounts, \
         bench_peer_account_events, bench_peer_accounts, \
         bench_peer012_account_events, bench_peer012_accounts",
    )
    .execute(admin)
    .await?;

    let mut ours = Lane::new(ours::Accounts::new(ours_pool));
    let mut floor = Lane::new(floor::Floor::new(floor_pool));
    let mut peer = Lane::new(peer::connect(url, POOL_SIZE).await?);
    let mut peer012 = Lane::new(peer012::connect(url, POOL_SIZE).await?);

    eprintln!(
        "es-entity-bench: {} rounds per workload{}; seeding {LISTED} accounts per implementation...",
        cfg.rounds,
        if cfg.quick { " (quick)" } else { "" }
    );
    let inputs = Inputs {
        listed: (0..LISTED)
            // `a-` sorts before every other name the bench writes, so the
            // first LISTED / PAGE pages are exactly these accounts.
            .map(|i| (Uuid::now_v7(), format!("a-list-{i:05}")))
            .collect(),
        long_history: (Uuid::now_v7(), "zz-long-history".into()),
    };
    if cfg.subject("ours") {
        ours.seed(&inputs).await?;
    }
    if cfg.subject("floor") {
        floor.seed(&inputs).await?;
    }
    if cfg.subject("peer") {
        peer.seed(&inputs).await?;
    }
    if cfg.subject("peer012") {
        peer012.seed(&inputs).await?;
    }

    let mut rows = Vec::new();
    for workload in Workload::ALL.into_iter().chain(Workload::curve()) {
        let split = workload.split(cfg);
        let ops = workload.ops(cfg) / split;
        let rounds = cfg.rounds * split;
        let mut label = workload.label(cfg);
        if !cfg.runs(workload) {
            continue;
        }
        if matches!(workload, Workload::ListByName | Workload::ListByNameLate) {
            let (accounts, events): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM bench_ours_accounts), \
                 (SELECT COUNT(*) FROM bench_ours_account_events)",
            )
            .fetch_one(admin)
            .await?;
            label = format!(
                "list_by_name ({PAGE} of {}k, {}k events)",
                (accounts + 500) / 1000,
                (events + 500) / 1000
            );
        }
        eprintln!("  {label}: {rounds} rounds x {ops} ops");
        let fresh = Fresh {
            update_set: if workload == Workload::Update {
                new_accounts("u", ops)
            } else {
                Vec::new()
            },
            bulk_set: match workload {
                Workload::UpdateAll | Workload::UpdateAllRenamed => new_accounts("ua", BULK),
                Workload::UpdateAllBatch(n) => new_accounts(&format!("uab{n}"), n),
                _ => Vec::new(),
            },
        };
        if cfg.subject("ours") {
            ours.prepare(workload, &fresh).await?;
        }
        if cfg.subject("floor") {
            floor.prepare(workload, &fresh).await?;
        }
        if cfg.subject("peer") {
            peer.prepare(workload, &fresh).await?;
        }
        if cfg.subject("peer012") {
            peer012.prepare(workload, &fresh).await?;
        }
        // Fresh statistics for all eight tables before every workload, so the
        // planner sees the same (current) sizes for the four implementations
        // instead of whatever autovacuum last analyzed.
        analyze(admin).await?;

        // Warm-up: every implementation once, not recorded.
        let warm_ops = ops.div_ceil(5);
        let warm = round_input(workload, warm_ops, "w");
        if cfg.subject("ours") {
            ours.run(workload, warm_ops, 0, &inputs, &warm, cfg).await?;
        }
        if cfg.subject("floor") {
            floor
                .run(workload, warm_ops, 0, &inputs, &warm, cfg)
                .await?;
        }
        if cfg.subject("peer") {
            peer.run(workload, warm_ops, 0, &inputs, &warm, cfg).await?;
        }
        if cfg.subject("peer012") {
            peer012
                .run(workload, warm_ops, 0, &inputs, &warm, cfg)
                .await?;
        }

        let mut samples: [Vec<Sample>; 4] = Default::default();
        for round in 0..rounds {
            let input = round_input(workload, ops, &format!("r{round}"));
            // Round r starts at position r mod 4 of ours, floor, peer, peer012.
            for k in 0..SUBJECTS.len() {
                let which = (round + k) % SUBJECTS.len();
                if !cfg.subject(SUBJECTS[which]) {
                    continue;
                }
                let sample = match which {
                    0 => {
                        ours.run(workload, ops, round + 1, &inputs, &input, cfg)
                            .await
                    }
                    1 => {
                        floor
                            .run(workload, ops, round + 1, &inputs, &input, cfg)
                            .await
                    }
                    2 => {
                        peer.run(workload, ops, round + 1, &inputs, &input, cfg)
                            .await
                    }
                    _ => {
                        peer012
                            .run(workload, ops, round + 1, &inputs, &input, cfg)
                            .await
                    }
                }
                .map_err(|e| format!("{label}, {}: {e}", SUBJECTS[which]))?;
                samples[which].push(sample);
            }
        }
        rows.push(Row { label, samples });
    }
    Ok((
        rows,
        [
            ours.verified,
            floor.verified,
            peer.verified,
            peer012.verified,
        ],
    ))
}

fn print_report(
    cfg: &Config,
    rows: &[Row],
    pg_version: &str,
    command: &str,
    (total, load): (Duration, (Option<String>, Option<String>)),
    verified: [usize; 4],
) {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!("es-entity-bench");
    println!("command:    {command}");
    println!(
        "machine:    {nproc} CPUs ({}), {}",
        cpu_model(),
        pg_version.split(" on ").next().unwrap_or(pg_version)
    );
    println!(
        "compared:   ours = es-entity of this repository{}, floor = hand-written sqlx 0.9, peer = es-entity {} (crates.io), \
         peer012 = es-entity {} (crates.io; account workloads only)",
        git_commit().map(|c| format!(" at {c}")).unwrap_or_default(),
        es_entity_bench_peer::PEER_VERSION,
        es_entity_bench_peer012::PEER_VERSION,
    );
    if !rows.is_empty() {
        println!(
            "method:     {} interleaved rounds per workload after a warm-up (tables ANALYZEd first; \
             create_all/update_all: {} rounds of one call each); \
             median over rounds; ratios are time ratios (ours/x < 1.00 = ours faster); \
             range = min..max of the per-round ratio",
            cfg.rounds,
            cfg.rounds * Workload::UpdateAll.split(cfg),
        );
    }
    println!(
        "total time: {:.0} s (seeding and fills included); 1-minute load average {} at the start, {} at the end",
        total.as_secs_f64(),
        load.0.as_deref().unwrap_or("?"),
        load.1.as_deref().unwrap_or("?"),
    );
    if rows.is_empty() {
        return;
    }
    println!();
    let header = format!(
        "{:<40} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>16} {:>16} {:>16}",
        "workload",
        "ours µs",
        "floor µs",
        "peer µs",
        "peer012 µs",
        "ours/s",
        "floor/s",
        "peer/s",
        "peer012/s",
        "ours/floor",
        "ours/peer",
        "ours/peer012"
    );
    println!("{header}");
    println!("{}", "-".repeat(header.chars().count()));
    for row in rows {
        let us: Vec<Vec<f64>> = row
            .samples
            .iter()
            .map(|s| s.iter().map(Sample::us_per_op).collect())
            .collect();
        let med: Vec<f64> = us.iter().map(|v| median(v.clone())).collect();
        // "—" where an implementation has no samples (not run, or left out).
        let us_col = |i: usize| or_dash(!us[i].is_empty(), || format!("{:.1}", med[i]));
        let per_s = |i: usize| or_dash(!us[i].is_empty(), || format!("{:.0}", 1e6 / med[i]));
        let ratio = |other: usize| {
            or_dash(!us[0].is_empty() && !us[other].is_empty(), || {
                let per_round: Vec<f64> =
                    us[0].iter().zip(&us[other]).map(|(a, b)| a / b).collect();
                let (lo, hi) = min_max(&per_round);
                format!("{:.2} ({lo:.2}..{hi:.2})", med[0] / med[other])
            })
        };
        println!(
            "{:<40} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>16} {:>16} {:>16}",
            row.label,
            us_col(0),
            us_col(1),
            us_col(2),
            us_col(3),
            per_s(0),
            per_s(1),
            per_s(2),
            per_s(3),
            ratio(1),
            ratio(2),
            ratio(3),
        );
    }
    println!();
    println!(
        "Rows are per operation; create_all/update_all rows are per call of {BULK} entities \
         (divide µs by {BULK} for per entity); `batch` rows are per entity, at the batch size \
         given, {CURVE_ENTITIES} entities per implementation per round (calls of 1,000 and more: \
         one call per round). The contention row is per successful update: \
         wall time of the {TASKS} tasks / ({TASKS} x {}).",
        cfg.contention_k
    );
    if let Some(row) = rows.iter().find(|r| r.label.contains("tasks")) {
        let conflicts: Vec<String> = row
            .samples
            .iter()
            .zip(SUBJECTS)
            .filter(|(_, name)| cfg.subject(name))
            .map(|(s, name)| {
                let c: Vec<f64> = s.iter().map(|s| s.conflicts as f64).collect();
                format!("{name} {:.0}", median(c))
            })
            .collect();
        println!(
            "Contention: conflicts retried per round (median): {}.",
            conflicts.join(", ")
        );
    }
    if !rows.iter().any(|r| r.label.contains("tasks")) {
        return;
    }
    // Only the implementations that ran (all of them without `--subject`).
    let checked: Vec<(&str, usize)> = SUBJECTS
        .into_iter()
        .zip(verified)
        .filter(|(name, _)| cfg.subject(name))
        .collect();
    let all = checked.iter().all(|&(_, v)| v == cfg.rounds);
    let counts: Vec<String> = checked
        .iter()
        .map(|(name, v)| format!("{name} {v}/{}", cfg.rounds))
        .collect();
    println!(
        "Contention check: every round's account holds exactly {TASKS} x {} deposit events \
         and that balance ({} rounds): {}",
        cfg.contention_k,
        counts.join(", "),
        if all { "PASS" } else { "FAIL" },
    );
    assert!(all, "contention verification failed");
}
