//! The snapshot and nested workloads (`--only snapshot`, `--only nested`;
//! also in the default run): rows of the main table, measured the same way
//! (interleaved rounds, medians, per-round ratios), on tables of their own
//! (migrations/20261203000000_bench_snapshot_nested.sql).
//!
//! - Snapshots: a `Meter` (one `Opened`, then `Deposited` events) whose
//!   repository stores a snapshot once [`SNAPSHOT_EVERY`] events follow the
//!   latest one, the same policy in all three. Read with snapshots off (the
//!   whole history) and on, at 2 and 10,000 events; a snapshotted 10,000-event
//!   meter is read with a tail of 50 events after its snapshot (the mean
//!   tail under "every 100"), of 99 (the longest) and of 25 (the mean tail
//!   under "every 50"). `update` of one event
//!   with snapshots on and off: each round writes 100 events to each of 5
//!   meters, so 1 write in 100 stores a snapshot, as the policy does.
//! - Each snapshotted 10,000-event read is followed, in the same turn of
//!   the same round, by a batch of 2-event reads, for the ratio of the two.
//! - Nested: an order with 100 lines of 10 events each, read whole by
//!   `find_by_id` (ours and the peer: one statement; the floor: one
//!   hand-written statement).
//!
//! Seeded once per run, not timed; the reads reuse the seed every round.
//! After the timings, one lane per implementation on a pool that logs its
//! statements counts statements and rows per operation (src/statements.rs).

pub mod floor;
pub mod ours;
pub mod peer;

use std::future::Future;
use std::time::Instant;

use uuid::Uuid;

use crate::subject::Res;
use crate::{Config, POOL_SIZE, Row, Sample, check, median, statements};

/// A snapshot is stored once this many events follow the latest one.
pub const SNAPSHOT_EVERY: usize = 100;
/// Ours' `EsSnapshot::VERSION` and the floor's `version` column.
pub const SNAPSHOT_VERSION: i32 = 1;
/// Events of the long meters.
const LONG: usize = 10_000;
// The labels say 10,000.
const _: () = assert!(LONG == 10_000);
/// Events after the snapshot of the long meters read with snapshots on.
const TAILS: [usize; 3] = [25, 50, 99];
/// 2-event meters read in turn by the short read.
const SHORT_METERS: usize = 200;
/// Meters the update workloads write to in turn.
const UPDATE_METERS: usize = 5;
const CHILDREN: usize = 100;
const CHILD_EVENTS: usize = 10;
/// Operations counted per implementation for statements and rows per op.
const COUNTED_OPS: usize = 100;

const _: () = assert!(SNAPSHOT_EVERY == es_entity_bench_peer::deep::SNAPSHOT_EVERY);

/// What the workloads check of a meter.
pub struct MeterView {
    pub id: Uuid,
    /// Events stored, snapshot included.
    pub events: usize,
    pub balance: i64,
    /// The sequence of the snapshot it was read from.
    pub snapshot: Option<usize>,
}

/// What the nested read checks of an order.
pub struct OrderView {
    pub id: Uuid,
    pub events: usize,
    pub lines: usize,
    pub line_events: usize,
    pub quantity: i64,
}

/// What every implementation offers these workloads.
pub trait Deep: Send + Sync + 'static {
    /// The meter of the repository with snapshots.
    type Meter: Send + 'static;
    /// The meter of the repository without snapshots (same tables).
    type Plain: Send + 'static;
    const NAME: &'static str;

    fn create_meter(&self, id: Uuid) -> impl Future<Output = Res<Self::Meter>> + Send;
    fn deposit(meter: &mut Self::Meter, amount: i64);
    fn update_meter<'a>(
        &'a self,
        meter: &'a mut Self::Meter,
    ) -> impl Future<Output = Res<()>> + Send + 'a;
    fn find_meter(&self, id: Uuid) -> impl Future<Output = Res<Self::Meter>> + Send;
    fn meter(meter: &Self::Meter) -> MeterView;

    fn find_plain(&self, id: Uuid) -> impl Future<Output = Res<Self::Plain>> + Send;
    fn deposit_plain(meter: &mut Self::Plain, amount: i64);
    fn update_plain<'a>(
        &'a self,
        meter: &'a mut Self::Plain,
    ) -> impl Future<Output = Res<()>> + Send + 'a;
    fn plain(meter: &Self::Plain) -> MeterView;

    /// Stores an order with `lines` children of `events_per_line` events.
    fn seed_order<'a>(
        &'a self,
        id: Uuid,
        lines: &'a [Uuid],
        events_per_line: usize,
    ) -> impl Future<Output = Res<()>> + Send + 'a;
    fn find_order(&self, id: Uuid) -> impl Future<Output = Res<OrderView>> + Send;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    Find2,
    FindLongOff,
    /// With snapshots, this many events after the snapshot.
    FindLongOn(usize),
    UpdateOff,
    UpdateOn,
    Nested,
}

impl Workload {
    const ALL: [Workload; 8] = [
        Workload::Find2,
        Workload::FindLongOff,
        Workload::FindLongOn(TAILS[0]),
        Workload::FindLongOn(TAILS[1]),
        Workload::FindLongOn(TAILS[2]),
        Workload::UpdateOff,
        Workload::UpdateOn,
        Workload::Nested,
    ];

    fn label(self) -> String {
        match self {
            Workload::Find2 => "snapshots on: find_by_id (2 events)".into(),
            Workload::FindLongOff => "snapshots off: find_by_id (10,000 ev.)".into(),
            Workload::FindLongOn(tail) => format!("snapshots on: find_by_id (10,000, +{tail})"),
            Workload::UpdateOff => "snapshots off: update (1 event)".into(),
            Workload::UpdateOn => "snapshots on: update (1 event)".into(),
            Workload::Nested => format!("nested: find_by_id ({CHILDREN} x {CHILD_EVENTS} events)"),
        }
    }

    fn ops(self, quick: bool) -> usize {
        let full: usize = match self {
            Workload::Find2 | Workload::UpdateOff | Workload::UpdateOn => 500,
            Workload::FindLongOff => 10,
            Workload::FindLongOn(_) => 200,
            Workload::Nested => 50,
        };
        if quick { full.div_ceil(5) } else { full }
    }
}

/// Whether the run includes any of these workloads.
pub fn selected(cfg: &Config) -> bool {
    Workload::ALL.into_iter().any(|w| cfg.selects(&w.label()))
}

/// The ids every implementation stores (each on its own tables).
struct Inputs {
    short: Vec<Uuid>,
    long: [Uuid; TAILS.len()],
    order: Uuid,
    lines: Vec<Uuid>,
}

fn ids(n: usize) -> Vec<Uuid> {
    (0..n).map(|_| Uuid::now_v7()).collect()
}

struct Lane<D: Deep> {
    d: D,
    update_on: Vec<(Uuid, D::Meter)>,
    update_off: Vec<(Uuid, D::Plain)>,
    /// Deposits written by the update workloads, per meter.
    deposits: Vec<i64>,
}

impl<D: Deep> Lane<D> {
    fn new(d: D) -> Self {
        Self {
            d,
            update_on: Vec::new(),
            update_off: Vec::new(),
            deposits: Vec::new(),
        }
    }

    async fn seed(&self, inputs: &Inputs) -> Res<()> {
        let d = &self.d;
        for id in &inputs.short {
            let mut m = d.create_meter(*id).await?;
            D::deposit(&mut m, 1);
            d.update_meter(&mut m).await?;
        }
        for (id, tail) in inputs.long.iter().zip(TAILS) {
            let mut m = d.create_meter(*id).await?;
            // One write up to the snapshot (the policy takes it), one after.
            for _ in 1..LONG - tail {
                D::deposit(&mut m, 1);
            }
            d.update_meter(&mut m).await?;
            for _ in 0..tail {
                D::deposit(&mut m, 1);
            }
            d.update_meter(&mut m).await?;
        }
        d.seed_order(inputs.order, &inputs.lines, CHILD_EVENTS)
            .await?;
        Ok(())
    }

    async fn prepare(&mut self, workload: Workload) -> Res<()> {
        match workload {
            Workload::UpdateOn => {
                self.update_on.clear();
                for id in ids(UPDATE_METERS) {
                    self.update_on.push((id, self.d.create_meter(id).await?));
                }
            }
            Workload::UpdateOff => {
                self.update_off.clear();
                for id in ids(UPDATE_METERS) {
                    self.d.create_meter(id).await?;
                    self.update_off.push((id, self.d.find_plain(id).await?));
                }
            }
            _ => {}
        }
        self.deposits = vec![0; UPDATE_METERS];
        Ok(())
    }

    async fn run(
        &mut self,
        workload: Workload,
        ops: usize,
        round: usize,
        inputs: &Inputs,
    ) -> Res<Sample> {
        let d = &self.d;
        let start = Instant::now();
        match workload {
            Workload::Find2 => {
                for i in 0..ops {
                    let id = inputs.short[(round * 7_919 + i * 104_729) % SHORT_METERS];
                    let m = d.find_meter(id).await?;
                    let v = D::meter(&m);
                    check(
                        v.id == id && v.events == 2 && v.balance == 1 && v.snapshot.is_none(),
                        || format!("2-event meter read as {} events", v.events),
                    )?;
                }
            }
            Workload::FindLongOff => {
                for _ in 0..ops {
                    let m = d.find_plain(inputs.long[0]).await?;
                    let v = D::plain(&m);
                    check(
                        v.id == inputs.long[0] && v.events == LONG && v.balance == LONG as i64 - 1,
                        || {
                            format!(
                                "long meter read as {} events, balance {}",
                                v.events, v.balance
                            )
                        },
                    )?;
                }
            }
            Workload::FindLongOn(tail) => {
                let k = TAILS.iter().position(|t| *t == tail).expect("a tail");
                for _ in 0..ops {
                    let m = d.find_meter(inputs.long[k]).await?;
                    let v = D::meter(&m);
                    check(
                        v.id == inputs.long[k]
                            && v.events == LONG
                            && v.balance == LONG as i64 - 1
                            && v.snapshot == Some(LONG - tail),
                        || {
                            format!(
                                "long meter read as {} events, balance {}, snapshot {:?} (expected {})",
                                v.events,
                                v.balance,
                                v.snapshot,
                                LONG - tail
                            )
                        },
                    )?;
                }
            }
            Workload::UpdateOn => {
                for i in 0..ops {
                    let k = i % self.update_on.len();
                    let m = &mut self.update_on[k].1;
                    D::deposit(m, 1);
                    d.update_meter(m).await?;
                    self.deposits[k] += 1;
                }
            }
            Workload::UpdateOff => {
                for i in 0..ops {
                    let k = i % self.update_off.len();
                    let m = &mut self.update_off[k].1;
                    D::deposit_plain(m, 1);
                    d.update_plain(m).await?;
                    self.deposits[k] += 1;
                }
            }
            Workload::Nested => {
                for _ in 0..ops {
                    let o = d.find_order(inputs.order).await?;
                    check(
                        o.id == inputs.order
                            && o.events == 1
                            && o.lines == CHILDREN
                            && o.line_events == CHILDREN * CHILD_EVENTS
                            && o.quantity == (CHILDREN * (CHILD_EVENTS - 1)) as i64,
                        || {
                            format!(
                                "order read with {} lines, {} line events, quantity {}",
                                o.lines, o.line_events, o.quantity
                            )
                        },
                    )?;
                }
            }
        }
        Ok(Sample {
            elapsed: start.elapsed(),
            ops,
            conflicts: 0,
        })
    }

    /// After an update workload (untimed): every meter reads back with the
    /// events and balance written, and with snapshots on, from a snapshot
    /// when more than `SNAPSHOT_EVERY` events were written; then, loaded
    /// from that snapshot, it takes 100 more writes and moves its snapshot.
    async fn verify(&self, workload: Workload) -> Res<()> {
        let check_one = |v: MeterView, k: usize, snap: bool| {
            let written = self.deposits[k] as usize;
            let ok = v.events == 1 + written
                && v.balance == written as i64
                && (!snap || written < SNAPSHOT_EVERY || v.snapshot.is_some());
            check(ok, || {
                format!(
                    "{}: meter {k} read back with {} events, balance {}, snapshot {:?} after {written} deposits",
                    D::NAME,
                    v.events,
                    v.balance,
                    v.snapshot
                )
            })
        };
        match workload {
            Workload::UpdateOn => {
                for (k, (id, _)) in self.update_on.iter().enumerate() {
                    check_one(D::meter(&self.d.find_meter(*id).await?), k, true)?;
                    // A meter loaded from its snapshot, written 100 more
                    // times one event at a time, stores a later snapshot
                    // and reads back with every event counted.
                    let mut m = self.d.find_meter(*id).await?;
                    let before = D::meter(&m);
                    for _ in 0..SNAPSHOT_EVERY {
                        D::deposit(&mut m, 1);
                        self.d.update_meter(&mut m).await?;
                    }
                    let after = D::meter(&self.d.find_meter(*id).await?);
                    let ok = after.events == before.events + SNAPSHOT_EVERY
                        && after.balance == before.balance + SNAPSHOT_EVERY as i64
                        && after.snapshot > before.snapshot
                        && after
                            .snapshot
                            .is_some_and(|s| after.events - s < SNAPSHOT_EVERY);
                    check(ok, || {
                        format!(
                            "{}: meter {k} loaded at {} events (snapshot {:?}), 100 writes later read as {} events, balance {}, snapshot {:?}",
                            D::NAME,
                            before.events,
                            before.snapshot,
                            after.events,
                            after.balance,
                            after.snapshot
                        )
                    })?;
                }
            }
            Workload::UpdateOff => {
                for (k, (id, _)) in self.update_off.iter().enumerate() {
                    check_one(D::plain(&self.d.find_plain(*id).await?), k, false)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Statements and rows of `COUNTED_OPS` operations, one at a time.
    async fn count(&mut self, workload: Workload, inputs: &Inputs) -> Res<Counted> {
        self.prepare(workload).await?;
        let mut counted = Counted::default();
        let n = COUNTED_OPS.min(workload.ops(false));
        for i in 0..n {
            statements::start();
            self.run(workload, 1, i, inputs).await?;
            let seen = statements::stop_with_rows();
            counted.add(&seen);
        }
        counted.ops = n;
        Ok(counted)
    }
}

/// Statements and rows seen over some operations.
#[derive(Default)]
pub struct Counted {
    ops: usize,
    /// Statements sqlx logged, plus one `BEGIN` per `COMMIT` (sqlx does
    /// not log the `BEGIN` of a transaction).
    statements: usize,
    rows: u64,
    /// The statements of the first operation, as `BEGIN, WITH, COMMIT`.
    shape: Option<String>,
}

impl Counted {
    fn add(&mut self, seen: &[(String, u64)]) {
        let mut words: Vec<&str> = Vec::new();
        for (word, rows) in seen {
            if word == "COMMIT" {
                words.insert(0, "BEGIN");
            }
            words.push(word);
            self.rows += rows;
        }
        self.statements += words.len();
        if self.shape.is_none() {
            self.shape = Some(words.join(", "));
        }
    }

    fn per_op(&self, x: f64) -> f64 {
        x / self.ops.max(1) as f64
    }
}

/// Per implementation, one (long, short) pair of µs per read per round.
type Pairs = [Vec<(f64, f64)>; 3];

pub struct Report {
    rows: Vec<Row>,
    /// Per tail of the snapshotted 10,000-event read: per implementation and
    /// round, (µs per snapshotted read, µs per 2-event read), the 2-event
    /// reads run right after the long ones in the same lane's turn.
    paired: Vec<(usize, Pairs)>,
    /// Per workload label: [ours, floor, peer] counts.
    counts: Vec<(String, [Option<Counted>; 3])>,
}

/// The three lanes of one run.
struct Lanes {
    ours: Lane<ours::OursDeep>,
    floor: Lane<floor::FloorDeep>,
    peer: Lane<es_entity_bench_peer::deep::PeerDeep>,
}

impl Lanes {
    async fn connect(url: &str, log: bool) -> Res<Self> {
        let ours_pool = crate::pg_pool_logged(url, log).await?;
        let floor_pool = crate::pg_pool_logged(url, log).await?;
        let peer_pool = es_entity_bench_peer::pool(url, POOL_SIZE, log)
            .await
            .map_err(|e| format!("peer pool: {e}"))?;
        Ok(Self {
            ours: Lane::new(ours::OursDeep::new(ours_pool)),
            floor: Lane::new(floor::FloorDeep::new(floor_pool)),
            peer: Lane::new(es_entity_bench_peer::deep::PeerDeep::new(peer_pool)),
        })
    }
}

async fn truncate(admin: &sqlx::PgPool) -> Res<()> {
    let mut tables = Vec::new();
    for who in ["ours", "floor", "peer"] {
        for t in [
            "meter_snapshots",
            "meter_events",
            "meters",
            "line_events",
            "lines",
            "order_events",
            "orders",
        ] {
            tables.push(format!("bench_{who}_{t}"));
        }
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "TRUNCATE {}",
        tables.join(", ")
    )))
    .execute(admin)
    .await?;
    Ok(())
}

async fn analyze(admin: &sqlx::PgPool) -> Res<()> {
    for who in ["ours", "floor", "peer"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ANALYZE bench_{who}_meters, bench_{who}_meter_events, bench_{who}_meter_snapshots, \
             bench_{who}_orders, bench_{who}_order_events, bench_{who}_lines, bench_{who}_line_events"
        )))
        .execute(admin)
        .await?;
    }
    Ok(())
}

pub async fn run(cfg: &Config, url: &str, admin: &sqlx::PgPool, counting: bool) -> Res<Report> {
    truncate(admin).await?;
    let mut lanes = Lanes::connect(url, false).await?;
    let inputs = Inputs {
        short: ids(SHORT_METERS),
        long: std::array::from_fn(|_| Uuid::now_v7()),
        order: Uuid::now_v7(),
        lines: ids(CHILDREN),
    };
    eprintln!(
        "es-entity-bench: snapshot and nested workloads, {} rounds; seeding ({SHORT_METERS} 2-event meters, \
         {} meters of {LONG} events, an order of {CHILDREN} x {CHILD_EVENTS} events per implementation)...",
        cfg.rounds,
        TAILS.len()
    );
    let seed_start = Instant::now();
    if cfg.subject("ours") {
        lanes
            .ours
            .seed(&inputs)
            .await
            .map_err(|e| format!("seeding ours: {e}"))?;
    }
    if cfg.subject("floor") {
        lanes
            .floor
            .seed(&inputs)
            .await
            .map_err(|e| format!("seeding floor: {e}"))?;
    }
    if cfg.subject("peer") {
        lanes
            .peer
            .seed(&inputs)
            .await
            .map_err(|e| format!("seeding peer: {e}"))?;
    }
    eprintln!("  seeded in {:.1} s", seed_start.elapsed().as_secs_f64());

    let mut rows = Vec::new();
    let mut paired = Vec::new();
    let mut selected = Vec::new();
    for workload in Workload::ALL {
        let label = workload.label();
        if !cfg.selects(&label) {
            continue;
        }
        selected.push(workload);
        let ops = workload.ops(cfg.quick);
        eprintln!("  {label}: {} rounds x {ops} ops", cfg.rounds);
        if cfg.subject("ours") {
            lanes.ours.prepare(workload).await?;
        }
        if cfg.subject("floor") {
            lanes.floor.prepare(workload).await?;
        }
        if cfg.subject("peer") {
            lanes.peer.prepare(workload).await?;
        }
        analyze(admin).await?;
        let warm = ops.div_ceil(5);
        if cfg.subject("ours") {
            lanes.ours.run(workload, warm, 0, &inputs).await?;
        }
        if cfg.subject("floor") {
            lanes.floor.run(workload, warm, 0, &inputs).await?;
        }
        if cfg.subject("peer") {
            lanes.peer.run(workload, warm, 0, &inputs).await?;
        }
        let mut samples: [Vec<Sample>; 3] = Default::default();
        let mut pairs: Pairs = Default::default();
        for round in 0..cfg.rounds {
            for k in 0..3 {
                let which = (round + k) % 3;
                let name = ["ours", "floor", "peer"][which];
                if !cfg.subject(name) {
                    continue;
                }
                let sample = match which {
                    0 => lanes.ours.run(workload, ops, round + 1, &inputs).await,
                    1 => lanes.floor.run(workload, ops, round + 1, &inputs).await,
                    _ => lanes.peer.run(workload, ops, round + 1, &inputs).await,
                }
                .map_err(|e| format!("{label}, {name}: {e}"))?;
                if let Workload::FindLongOn(_) = workload {
                    // The 2-event read, in the same turn: the ratio of the
                    // two is then free of the machine's slower phases.
                    let short = Workload::Find2;
                    let n = short.ops(cfg.quick);
                    let s = match which {
                        0 => lanes.ours.run(short, n, round + 1, &inputs).await,
                        1 => lanes.floor.run(short, n, round + 1, &inputs).await,
                        _ => lanes.peer.run(short, n, round + 1, &inputs).await,
                    }
                    .map_err(|e| format!("{label} (paired 2-event read), {name}: {e}"))?;
                    pairs[which].push((sample.us_per_op(), s.us_per_op()));
                }
                samples[which].push(sample);
            }
        }
        if let Workload::FindLongOn(tail) = workload {
            paired.push((tail, pairs));
        }
        if cfg.subject("ours") {
            lanes.ours.verify(workload).await?;
        }
        if cfg.subject("floor") {
            lanes.floor.verify(workload).await?;
        }
        if cfg.subject("peer") {
            lanes.peer.verify(workload).await?;
        }
        rows.push(Row::three_way(label, samples));
    }

    let mut counts = Vec::new();
    if counting {
        let mut logged = Lanes::connect(url, true).await?;
        for workload in selected {
            let mut c: [Option<Counted>; 3] = Default::default();
            if cfg.subject("ours") {
                c[0] = Some(logged.ours.count(workload, &inputs).await?);
            }
            if cfg.subject("floor") {
                c[1] = Some(logged.floor.count(workload, &inputs).await?);
            }
            if cfg.subject("peer") {
                c[2] = Some(logged.peer.count(workload, &inputs).await?);
            }
            counts.push((workload.label(), c));
        }
    }
    Ok(Report {
        rows,
        paired,
        counts,
    })
}

impl Report {
    pub fn take_rows(&mut self) -> Vec<Row> {
        std::mem::take(&mut self.rows)
    }
}

/// What the main table's snapshot and nested rows are, their statement
/// counts and the ratios the issue aims at.
pub fn print(report: &Report) {
    println!();
    println!(
        "Snapshot and nested rows: a meter stores a snapshot once {SNAPSHOT_EVERY} events follow the \
         latest one (all three). `10,000, +N`: a meter of 10,000 events read from its snapshot at \
         event 10,000-N plus the N events after it; `snapshots off` reads the same meter's whole \
         history. `update`: 100 one-event writes per meter and round over {UPDATE_METERS} meters, so 1 \
         write in {SNAPSHOT_EVERY} stores a snapshot (with snapshots on). `nested`: one order (1 event) \
         with {CHILDREN} lines of {CHILD_EVENTS} events each, read whole."
    );
    for (tail, pairs) in &report.paired {
        let mut parts = Vec::new();
        for (which, name) in ["ours", "floor", "peer"].into_iter().enumerate() {
            if pairs[which].is_empty() {
                continue;
            }
            let per_round: Vec<f64> = pairs[which].iter().map(|(l, s)| l / s).collect();
            let (lo, hi) = crate::min_max(&per_round);
            let short = median(pairs[which].iter().map(|(_, s)| *s).collect());
            parts.push(format!(
                "{name} {:.2} ({lo:.2}..{hi:.2}; 2-event read {short:.1} µs)",
                median(per_round)
            ));
        }
        println!(
            "Snapshotted 10,000-event read (+{tail}) / 2-event read, measured in the same turn of each \
             round (snapshots on; median of the per-round ratio, min..max): {}.",
            parts.join(", ")
        );
    }
    if report.counts.is_empty() {
        return;
    }
    println!();
    let header = format!(
        "{:<40} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9}   {}",
        "statements and rows per op",
        "ours st",
        "floor st",
        "peer st",
        "ours rows",
        "floor rows",
        "peer rows",
        "statements (ours | floor | peer)"
    );
    println!("{header}");
    println!("{}", "-".repeat(header.chars().count() + 8));
    for (label, c) in &report.counts {
        let st = |c: &Option<Counted>| {
            c.as_ref().map_or("-".into(), |c| {
                format!("{:.2}", c.per_op(c.statements as f64))
            })
        };
        let rows = |c: &Option<Counted>| {
            c.as_ref()
                .map_or("-".into(), |c| format!("{:.1}", c.per_op(c.rows as f64)))
        };
        let shapes: Vec<&str> = c
            .iter()
            .map(|c| c.as_ref().and_then(|c| c.shape.as_deref()).unwrap_or("-"))
            .collect();
        println!(
            "{:<40} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9}   {}",
            label,
            st(&c[0]),
            st(&c[1]),
            st(&c[2]),
            rows(&c[0]),
            rows(&c[1]),
            rows(&c[2]),
            shapes.join(" | ")
        );
    }
    println!(
        "Counted over {COUNTED_OPS} operations per implementation (the 10,000-event read without \
         snapshots: 10) on pools that log every statement; `st` includes one BEGIN per COMMIT \
         (sqlx does not log BEGIN); rows are the rows the statements returned; [..] is the first \
         operation's statements by first word."
    );
}
