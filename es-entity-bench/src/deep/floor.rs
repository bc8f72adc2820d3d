//! The floor for the snapshot and nested workloads: hand-written sqlx, one
//! statement per operation, only the columns the state needs.
//!
//! - A meter read with snapshots is one statement: the index row, its
//!   snapshot row of the current version (if any) and the events after it,
//!   in sequence order, the snapshot's JSON on the first row only. Without
//!   snapshots: the events, in order.
//! - A meter write is one statement: the events' insert (the unique key
//!   `(id, sequence)` is the optimistic-concurrency check) and, when a
//!   snapshot is due, its upsert in a CTE of the same statement, which never
//!   replaces a newer row.
//! - An order read is one statement: the order's events and its lines'
//!   events (`UNION ALL`), sorted by node, entity and sequence.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use super::{Deep, MeterView, OrderView, SNAPSHOT_EVERY, SNAPSHOT_VERSION};
use crate::subject::Res;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MeterEvent {
    Opened { id: Uuid },
    Deposited { amount: i64 },
}

impl MeterEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Opened { .. } => "opened",
            Self::Deposited { .. } => "deposited",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MeterState {
    pub balance: i64,
    pub deposits: u64,
}

impl MeterState {
    fn apply(&mut self, event: &MeterEvent) {
        if let MeterEvent::Deposited { amount } = event {
            self.balance += amount;
            self.deposits += 1;
        }
    }
}

#[derive(Debug)]
pub struct Meter {
    id: Uuid,
    state: MeterState,
    /// Events stored so far.
    version: i32,
    /// Events (stored and new) after the latest snapshot read or written.
    since_snapshot: usize,
    /// The sequence of the snapshot this meter was read from.
    loaded_from: Option<usize>,
    new: Vec<MeterEvent>,
}

impl Meter {
    fn empty(id: Uuid) -> Self {
        Self {
            id,
            state: MeterState::default(),
            version: 0,
            since_snapshot: 0,
            loaded_from: None,
            new: Vec::new(),
        }
    }

    fn push(&mut self, event: MeterEvent) {
        self.state.apply(&event);
        self.since_snapshot += 1;
        self.new.push(event);
    }

    fn apply_stored(&mut self, sequence: i32, event: &MeterEvent) -> Res<()> {
        if sequence != self.version + 1 {
            return Err(format!(
                "meter {}: sequence {sequence} after {}",
                self.id, self.version
            )
            .into());
        }
        self.state.apply(event);
        self.version = sequence;
        self.since_snapshot += 1;
        Ok(())
    }
}

/// The floor's meter without snapshots is the same state.
pub struct Plain(Meter);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OrderEvent {
    Opened { id: Uuid },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LineEvent {
    Added { order_id: Uuid, quantity: i64 },
    QuantityChanged { quantity: i64 },
}

impl LineEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Added { .. } => "added",
            Self::QuantityChanged { .. } => "quantity_changed",
        }
    }
}

struct Line {
    quantity: i64,
    version: i32,
}

pub struct FloorDeep {
    pool: PgPool,
}

impl FloorDeep {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The new events as the arrays the writes bind.
    async fn write(&self, meter: &mut Meter, snapshots: bool) -> Res<()> {
        if meter.new.is_empty() {
            return Ok(());
        }
        let n = meter.new.len();
        let sequences: Vec<i32> = (1..=n as i32).map(|i| meter.version + i).collect();
        let types: Vec<&str> = meter.new.iter().map(MeterEvent::event_type).collect();
        let events: Vec<Json<&MeterEvent>> = meter.new.iter().map(Json).collect();
        let head = meter.version + n as i32;
        let inserted = if snapshots {
            let snapshot =
                (meter.since_snapshot >= SNAPSHOT_EVERY).then(|| Json(meter.state.clone()));
            let taken = snapshot.is_some();
            let row = sqlx::query!(
                "WITH inserted AS (INSERT INTO bench_floor_meter_events (id, sequence, event_type, event, recorded_at) \
                 SELECT $1, s.sequence, s.event_type, s.event, NOW() \
                 FROM UNNEST($2::INT4[], $3::TEXT[], $4::JSONB[]) AS s(sequence, event_type, event) RETURNING 1), \
                 snap AS (INSERT INTO bench_floor_meter_snapshots AS t (id, sequence, version, snapshot, recorded_at) \
                 SELECT $1, $5, $6, $7, NOW() WHERE $7::JSONB IS NOT NULL \
                 ON CONFLICT (id) DO UPDATE SET sequence = EXCLUDED.sequence, version = EXCLUDED.version, \
                 snapshot = EXCLUDED.snapshot, recorded_at = EXCLUDED.recorded_at \
                 WHERE t.sequence < EXCLUDED.sequence RETURNING 1) \
                 SELECT (SELECT COUNT(*) FROM inserted) AS \"events!\"",
                meter.id,
                &sequences[..],
                &types[..] as &[&str],
                &events as _,
                head,
                SNAPSHOT_VERSION,
                snapshot as _,
            )
            .fetch_one(&self.pool)
            .await?;
            if taken {
                meter.since_snapshot = 0;
            }
            row.events
        } else {
            sqlx::query!(
                "INSERT INTO bench_floor_meter_events (id, sequence, event_type, event, recorded_at) \
                 SELECT $1, s.sequence, s.event_type, s.event, NOW() \
                 FROM UNNEST($2::INT4[], $3::TEXT[], $4::JSONB[]) AS s(sequence, event_type, event)",
                meter.id,
                &sequences[..],
                &types[..] as &[&str],
                &events as _,
            )
            .execute(&self.pool)
            .await?
            .rows_affected() as i64
        };
        if inserted != n as i64 {
            return Err(format!("meter {}: {inserted} of {n} events stored", meter.id).into());
        }
        drop(events);
        meter.version = head;
        meter.new.clear();
        Ok(())
    }
}

impl Deep for FloorDeep {
    type Meter = Meter;
    type Plain = Plain;
    const NAME: &'static str = "floor";

    async fn create_meter(&self, id: Uuid) -> Res<Meter> {
        let opened = MeterEvent::Opened { id };
        sqlx::query!(
            "WITH entity AS (INSERT INTO bench_floor_meters (id, created_at) VALUES ($1, NOW()) \
             RETURNING id, created_at) \
             INSERT INTO bench_floor_meter_events (id, sequence, event_type, event, recorded_at) \
             SELECT id, 1, $2, $3, created_at FROM entity",
            id,
            opened.event_type(),
            Json(&opened) as _,
        )
        .execute(&self.pool)
        .await?;
        let mut meter = Meter::empty(id);
        meter.apply_stored(1, &opened)?;
        Ok(meter)
    }

    fn deposit(meter: &mut Meter, amount: i64) {
        meter.push(MeterEvent::Deposited { amount });
    }

    async fn update_meter<'a>(&'a self, meter: &'a mut Meter) -> Res<()> {
        self.write(meter, true).await
    }

    async fn find_meter(&self, id: Uuid) -> Res<Meter> {
        // The snapshot row of the current version (if any), then the events
        // after it; the snapshot's JSON only on the first row. Starting from
        // the index row (a primary-key lookup) rather than from `$1` alone
        // lets PostgreSQL keep a generic plan: with `(SELECT $1 AS id)` its
        // generic estimate is far above the custom one, so it replanned the
        // statement at every execution (pg_prepared_statements: 0 generic,
        // 20 custom plans out of 20), about 0.1 ms per read.
        let rows = sqlx::query!(
            "SELECT s.sequence AS \"snapshot_sequence?\", \
             CASE WHEN e.sequence IS NULL OR e.sequence = s.sequence + 1 THEN s.snapshot END \
             AS \"snapshot?: Json<MeterState>\", \
             e.sequence AS \"sequence?\", e.event AS \"event?: Json<MeterEvent>\" \
             FROM bench_floor_meters i \
             LEFT JOIN bench_floor_meter_snapshots s ON s.id = i.id AND s.version = $2 \
             LEFT JOIN LATERAL (SELECT x.sequence, x.event FROM bench_floor_meter_events x \
             WHERE x.id = i.id AND x.sequence > COALESCE(s.sequence, 0) ORDER BY x.sequence) e ON TRUE \
             WHERE i.id = $1 ORDER BY e.sequence",
            id,
            SNAPSHOT_VERSION,
        )
        .fetch_all(&self.pool)
        .await?;
        let mut meter = Meter::empty(id);
        for row in rows {
            if let Some(Json(state)) = row.snapshot {
                let at = row
                    .snapshot_sequence
                    .ok_or("a snapshot without its sequence")?;
                meter.state = state;
                meter.version = at;
                meter.loaded_from = Some(at as usize);
            }
            if let (Some(sequence), Some(Json(event))) = (row.sequence, row.event) {
                meter.apply_stored(sequence, &event)?;
            }
        }
        if meter.version == 0 {
            return Err(format!("no meter {id}").into());
        }
        Ok(meter)
    }

    fn meter(meter: &Meter) -> MeterView {
        MeterView {
            id: meter.id,
            events: meter.version as usize,
            balance: meter.state.balance,
            snapshot: meter.loaded_from,
        }
    }

    async fn find_plain(&self, id: Uuid) -> Res<Plain> {
        let rows = sqlx::query!(
            "SELECT sequence, event AS \"event: Json<MeterEvent>\" FROM bench_floor_meter_events \
             WHERE id = $1 ORDER BY sequence",
            id,
        )
        .fetch_all(&self.pool)
        .await?;
        let mut meter = Meter::empty(id);
        for row in rows {
            meter.apply_stored(row.sequence, &row.event.0)?;
        }
        if meter.version == 0 {
            return Err(format!("no meter {id}").into());
        }
        Ok(Plain(meter))
    }

    fn deposit_plain(meter: &mut Plain, amount: i64) {
        meter.0.push(MeterEvent::Deposited { amount });
    }

    async fn update_plain<'a>(&'a self, meter: &'a mut Plain) -> Res<()> {
        self.write(&mut meter.0, false).await
    }

    fn plain(meter: &Plain) -> MeterView {
        MeterView {
            id: meter.0.id,
            events: meter.0.version as usize,
            balance: meter.0.state.balance,
            snapshot: None,
        }
    }

    async fn seed_order(&self, id: Uuid, lines: &[Uuid], events_per_line: usize) -> Res<()> {
        // Untimed: plain bulk statements.
        let opened = OrderEvent::Opened { id };
        sqlx::query(
            "WITH entity AS (INSERT INTO bench_floor_orders (id, created_at) VALUES ($1, NOW()) \
             RETURNING id, created_at) \
             INSERT INTO bench_floor_order_events (id, sequence, event_type, event, recorded_at) \
             SELECT id, 1, 'opened', $2, created_at FROM entity",
        )
        .bind(id)
        .bind(Json(&opened))
        .execute(&self.pool)
        .await?;
        sqlx::query(
            "INSERT INTO bench_floor_lines (id, created_at, order_id) \
             SELECT l, NOW(), $2 FROM UNNEST($1::UUID[]) AS l",
        )
        .bind(lines)
        .bind(id)
        .execute(&self.pool)
        .await?;
        let (mut ids, mut sequences, mut types, mut events) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, line) in lines.iter().enumerate() {
            for s in 1..=events_per_line {
                let event = if s == 1 {
                    LineEvent::Added {
                        order_id: id,
                        quantity: i as i64,
                    }
                } else {
                    LineEvent::QuantityChanged {
                        quantity: s as i64 - 1,
                    }
                };
                ids.push(*line);
                sequences.push(s as i32);
                types.push(event.event_type());
                events.push(Json(event));
            }
        }
        sqlx::query(
            "INSERT INTO bench_floor_line_events (id, sequence, event_type, event, recorded_at) \
             SELECT * , NOW() FROM UNNEST($1::UUID[], $2::INT4[], $3::TEXT[], $4::JSONB[])",
        )
        .bind(&ids)
        .bind(&sequences)
        .bind(&types)
        .bind(&events)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_order(&self, id: Uuid) -> Res<OrderView> {
        let rows = sqlx::query!(
            "SELECT 0 AS \"node!\", e.id AS \"id!\", e.sequence AS \"sequence!\", \
             e.event AS \"order_event?: Json<OrderEvent>\", NULL::JSONB AS \"line_event?: Json<LineEvent>\" \
             FROM bench_floor_order_events e WHERE e.id = $1 \
             UNION ALL \
             SELECT 1, le.id, le.sequence, NULL, le.event \
             FROM bench_floor_lines l JOIN bench_floor_line_events le ON le.id = l.id \
             WHERE l.order_id = $1 \
             ORDER BY 1, 2, 3",
            id,
        )
        .fetch_all(&self.pool)
        .await?;
        let mut order_version = 0;
        let mut lines: HashMap<Uuid, Line> = HashMap::new();
        let mut current: Option<(Uuid, Line)> = None;
        for row in rows {
            match (row.order_event, row.line_event) {
                (Some(Json(OrderEvent::Opened { .. })), None) => {
                    if row.sequence != order_version + 1 {
                        return Err(format!("order {id}: sequence {}", row.sequence).into());
                    }
                    order_version = row.sequence;
                }
                (None, Some(Json(event))) => {
                    if current.as_ref().is_none_or(|(l, _)| *l != row.id) {
                        if let Some((l, line)) = current.take() {
                            lines.insert(l, line);
                        }
                        current = Some((
                            row.id,
                            Line {
                                quantity: 0,
                                version: 0,
                            },
                        ));
                    }
                    let (_, line) = current.as_mut().expect("set above");
                    if row.sequence != line.version + 1 {
                        return Err(format!("line {}: sequence {}", row.id, row.sequence).into());
                    }
                    line.version = row.sequence;
                    match event {
                        LineEvent::Added { quantity, .. }
                        | LineEvent::QuantityChanged { quantity } => line.quantity = quantity,
                    }
                }
                _ => return Err(format!("order {id}: a row with both or neither").into()),
            }
        }
        if let Some((l, line)) = current.take() {
            lines.insert(l, line);
        }
        if order_version == 0 {
            return Err(format!("no order {id}").into());
        }
        Ok(OrderView {
            id,
            events: order_version as usize,
            lines: lines.len(),
            line_events: lines.values().map(|l| l.version as usize).sum(),
            quantity: lines.values().map(|l| l.quantity).sum(),
        })
    }
}
