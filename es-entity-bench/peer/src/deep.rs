//! The peer's entities of the snapshot and nested workloads, against the
//! release's API: `EntityEvents<E, S>` with a `#[derive(EsSnapshot)]` state,
//! hydration through `replay()` (the snapshot first, then the tail), the
//! capture policy on `tail_len()`; the nested child repository marks its
//! parent column `parent` (and `update(persist = false)`, as the release's
//! README does).

use es_entity::*;
use serde::{Deserialize, Serialize};

/// Both implementations store a snapshot once this many events follow
/// the latest one (the bench binary checks it equals its own constant).
pub const SNAPSHOT_EVERY: usize = 100;

es_entity::entity_id! { MeterId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "MeterId")]
pub enum MeterEvent {
    Opened { id: MeterId },
    Deposited { amount: i64 },
}

#[derive(EsSnapshot, Debug, Clone, Default, Serialize, Deserialize)]
#[es_snapshot(version = 1)]
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

/// The meter of the snapshot repository.
#[derive(EsEntity)]
pub struct Meter {
    pub id: MeterId,
    pub state: MeterState,
    events: EntityEvents<MeterEvent, MeterState>,
}

impl Meter {
    pub fn deposit(&mut self, amount: i64) {
        let event = MeterEvent::Deposited { amount };
        self.state.apply(&event);
        self.events.push(event);
    }

    pub fn persisted_events(&self) -> usize {
        self.events.len_persisted()
    }

    /// The sequence of the snapshot it was loaded from, if any.
    pub fn snapshot_sequence(&self) -> Option<usize> {
        self.events.snapshot().map(|s| s.sequence)
    }
}

impl TryFromEvents<MeterEvent, MeterState> for Meter {
    fn try_from_events(
        events: EntityEvents<MeterEvent, MeterState>,
    ) -> Result<Self, EntityHydrationError> {
        let mut state = MeterState::default();
        for item in events.replay() {
            match item {
                Replay::Snapshot(s) => state = s.clone(),
                Replay::Event(e) => state.apply(e),
            }
        }
        Ok(Meter {
            id: *events.id(),
            state,
            events,
        })
    }
}

impl HeadSnapshot for Meter {
    fn capture(&self) -> Option<MeterState> {
        (self.events.tail_len() >= SNAPSHOT_EVERY).then(|| self.state.clone())
    }
}

pub struct NewMeter {
    pub id: MeterId,
}

impl IntoEvents<MeterEvent> for NewMeter {
    type IdSource = FromCaller;

    fn into_events(
        self,
        builder: EntityEventsBuilder<MeterEvent, FromCaller>,
    ) -> EntityEvents<MeterEvent> {
        builder.initial_events(self.id, [MeterEvent::Opened { id: self.id }])
    }
}

#[derive(EsRepo)]
#[es_repo(
    entity = "Meter",
    tbl = "bench_peer_meters",
    events_tbl = "bench_peer_meter_events",
    id(source = caller),
    snapshot,
    snapshot_tbl = "bench_peer_meter_snapshots"
)]
pub struct Meters {
    pool: sqlx::PgPool,
}

/// The same meter for the repository without snapshots.
#[derive(EsEntity)]
#[es_entity(new = "NewMeter", event = "MeterEvent")]
pub struct PlainMeter {
    pub id: MeterId,
    pub state: MeterState,
    events: EntityEvents<MeterEvent>,
}

impl PlainMeter {
    pub fn deposit(&mut self, amount: i64) {
        let event = MeterEvent::Deposited { amount };
        self.state.apply(&event);
        self.events.push(event);
    }

    pub fn persisted_events(&self) -> usize {
        self.events.len_persisted()
    }
}

impl TryFromEvents<MeterEvent> for PlainMeter {
    fn try_from_events(events: EntityEvents<MeterEvent>) -> Result<Self, EntityHydrationError> {
        let mut state = MeterState::default();
        for event in events.iter_all() {
            state.apply(event);
        }
        Ok(PlainMeter {
            id: *events.id(),
            state,
            events,
        })
    }
}

#[derive(EsRepo)]
#[es_repo(
    entity = "PlainMeter",
    event = "MeterEvent",
    tbl = "bench_peer_meters",
    events_tbl = "bench_peer_meter_events",
    id(ty = "MeterId", source = caller)
)]
pub struct PlainMeters {
    pool: sqlx::PgPool,
}

// The nested workload.

es_entity::entity_id! { OrderId }
es_entity::entity_id! { LineId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "LineId")]
pub enum LineEvent {
    Added { order_id: OrderId, quantity: i64 },
    QuantityChanged { quantity: i64 },
}

#[derive(EsEntity)]
pub struct Line {
    pub id: LineId,
    pub order_id: OrderId,
    pub quantity: i64,
    events: EntityEvents<LineEvent>,
}

impl Line {
    pub fn set_quantity(&mut self, quantity: i64) {
        self.quantity = quantity;
        self.events.push(LineEvent::QuantityChanged { quantity });
    }

    pub fn persisted_events(&self) -> usize {
        self.events.len_persisted()
    }
}

impl TryFromEvents<LineEvent> for Line {
    fn try_from_events(events: EntityEvents<LineEvent>) -> Result<Self, EntityHydrationError> {
        let mut line = None;
        for event in events.iter_all() {
            match event {
                LineEvent::Added { order_id, quantity } => line = Some((*order_id, *quantity)),
                LineEvent::QuantityChanged { quantity } => {
                    if let Some(l) = line.as_mut() {
                        l.1 = *quantity;
                    }
                }
            }
        }
        let Some((order_id, quantity)) = line else {
            return Err(EntityHydrationError::MissingField {
                entity: "Line",
                field: "order_id",
            });
        };
        Ok(Line {
            id: *events.id(),
            order_id,
            quantity,
            events,
        })
    }
}

pub struct NewLine {
    pub id: LineId,
    pub order_id: OrderId,
    pub quantity: i64,
}

impl IntoEvents<LineEvent> for NewLine {
    type IdSource = FromCaller;

    fn into_events(
        self,
        builder: EntityEventsBuilder<LineEvent, FromCaller>,
    ) -> EntityEvents<LineEvent> {
        builder.initial_events(
            self.id,
            [LineEvent::Added {
                order_id: self.order_id,
                quantity: self.quantity,
            }],
        )
    }
}

#[derive(EsRepo)]
#[es_repo(
    entity = "Line",
    tbl = "bench_peer_lines",
    events_tbl = "bench_peer_line_events",
    id(source = caller),
    columns(order_id(ty = "OrderId", update(persist = false), parent))
)]
pub struct Lines {
    pool: sqlx::PgPool,
}

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "OrderId")]
pub enum OrderEvent {
    Opened { id: OrderId },
}

#[derive(EsEntity)]
pub struct Order {
    pub id: OrderId,
    #[es_entity(nested)]
    lines: Nested<Line>,
    events: EntityEvents<OrderEvent>,
}

impl Order {
    pub fn add_line(&mut self, id: LineId, quantity: i64) {
        self.lines.add_new(NewLine {
            id,
            order_id: self.id,
            quantity,
        });
    }

    pub fn lines_mut(&mut self) -> impl Iterator<Item = &mut Line> {
        self.lines.iter_persisted_mut()
    }

    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        self.lines.iter_persisted()
    }

    pub fn persisted_events(&self) -> usize {
        self.events.len_persisted()
    }
}

impl TryFromEvents<OrderEvent> for Order {
    fn try_from_events(events: EntityEvents<OrderEvent>) -> Result<Self, EntityHydrationError> {
        Ok(Order {
            id: *events.id(),
            lines: Nested::default(),
            events,
        })
    }
}

pub struct NewOrder {
    pub id: OrderId,
}

impl IntoEvents<OrderEvent> for NewOrder {
    type IdSource = FromCaller;

    fn into_events(
        self,
        builder: EntityEventsBuilder<OrderEvent, FromCaller>,
    ) -> EntityEvents<OrderEvent> {
        builder.initial_events(self.id, [OrderEvent::Opened { id: self.id }])
    }
}

#[derive(EsRepo)]
#[es_repo(
    entity = "Order",
    tbl = "bench_peer_orders",
    events_tbl = "bench_peer_order_events",
    id(source = caller)
)]
pub struct Orders {
    pool: sqlx::PgPool,
    #[es_repo(nested)]
    lines: Lines,
}

/// The peer's three repositories, on one pool.
pub struct PeerDeep {
    pub meters: Meters,
    pub plain: PlainMeters,
    pub orders: Orders,
}

impl PeerDeep {
    pub fn new(pool: sqlx::PgPool) -> Self {
        Self {
            meters: Meters { pool: pool.clone() },
            plain: PlainMeters { pool: pool.clone() },
            orders: Orders {
                pool: pool.clone(),
                lines: Lines { pool },
            },
        }
    }
}
