//! Ours for the snapshot and nested workloads: a `Meter` read with and
//! without `#[es_repo(snapshot)]` (two repositories over the same tables),
//! and an `Order` whose `Line`s are `#[es_repo(nested)]` children.

use es_entity::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Deep, MeterView, OrderView, SNAPSHOT_EVERY, SNAPSHOT_VERSION};
use crate::subject::Res;

entity_id! { MeterId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "MeterId")]
pub enum MeterEvent {
    Opened { id: MeterId },
    Deposited { amount: i64 },
}

/// What a snapshot stores: the meter's fields besides its events.
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

impl EsSnapshot for MeterState {
    const VERSION: i32 = SNAPSHOT_VERSION;
}

/// The meter of the snapshot repository.
#[derive(EsEntity, Debug)]
pub struct Meter {
    pub id: MeterId,
    pub state: MeterState,
    events: EntityEvents<MeterEvent>,
}

fn replay(mut state: MeterState, events: &EntityEvents<MeterEvent>) -> MeterState {
    for event in events.iter_all() {
        state.apply(event);
    }
    state
}

impl Meter {
    fn deposit(&mut self, amount: i64) {
        let event = MeterEvent::Deposited { amount };
        self.state.apply(&event);
        self.events.push(event);
    }
}

impl TryFromEvents<MeterEvent> for Meter {
    fn try_from_events(events: EntityEvents<MeterEvent>) -> Result<Self, EntityHydrationError> {
        let state = replay(MeterState::default(), &events);
        Ok(Meter {
            id: *events.id(),
            state,
            events,
        })
    }
}

impl HeadSnapshot for Meter {
    type Snapshot = MeterState;

    fn capture(&self) -> Option<MeterState> {
        (self.events.events_since_snapshot() >= SNAPSHOT_EVERY).then(|| self.state.clone())
    }

    fn try_from_snapshot(
        snapshot: MeterState,
        events: EntityEvents<MeterEvent>,
    ) -> Result<Self, EntityHydrationError> {
        let state = replay(snapshot, &events);
        Ok(Meter {
            id: *events.id(),
            state,
            events,
        })
    }
}

pub struct NewMeter {
    pub id: MeterId,
}

impl IntoEvents<MeterEvent> for NewMeter {
    fn into_events(self) -> EntityEvents<MeterEvent> {
        EntityEvents::init(self.id, [MeterEvent::Opened { id: self.id }])
    }
}

#[derive(EsRepo)]
#[es_repo(
    entity = "Meter",
    tbl = "bench_ours_meters",
    events_tbl = "bench_ours_meter_events",
    snapshot,
    snapshot_tbl = "bench_ours_meter_snapshots"
)]
pub struct Meters {
    pool: sqlx::PgPool,
}

/// The same meter for the repository without snapshots: it replays the
/// whole history on every read.
#[derive(EsEntity, Debug)]
#[es_entity(new = "NewMeter", event = "MeterEvent")]
pub struct PlainMeter {
    pub id: MeterId,
    pub state: MeterState,
    events: EntityEvents<MeterEvent>,
}

impl TryFromEvents<MeterEvent> for PlainMeter {
    fn try_from_events(events: EntityEvents<MeterEvent>) -> Result<Self, EntityHydrationError> {
        let state = replay(MeterState::default(), &events);
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
    id = "MeterId",
    tbl = "bench_ours_meters",
    events_tbl = "bench_ours_meter_events"
)]
pub struct PlainMeters {
    pool: sqlx::PgPool,
}

// The nested workload: an order and its lines.

entity_id! { OrderId }
entity_id! { LineId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "LineId")]
pub enum LineEvent {
    Added { order_id: OrderId, quantity: i64 },
    QuantityChanged { quantity: i64 },
}

#[derive(EsEntity, Debug)]
pub struct Line {
    #[allow(dead_code)] // as an entity has it; the workload checks the count
    pub id: LineId,
    pub order_id: OrderId,
    pub quantity: i64,
    events: EntityEvents<LineEvent>,
}

impl Line {
    fn set_quantity(&mut self, quantity: i64) {
        self.quantity = quantity;
        self.events.push(LineEvent::QuantityChanged { quantity });
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
        let (order_id, quantity) = line.ok_or_else(|| events.missing_field("order_id"))?;
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
    fn into_events(self) -> EntityEvents<LineEvent> {
        EntityEvents::init(
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
    tbl = "bench_ours_lines",
    events_tbl = "bench_ours_line_events",
    columns(order_id(ty = "OrderId", parent))
)]
pub struct Lines {
    // Only the parent's tree read and writes use it, through `Orders`.
    pool: sqlx::PgPool,
}

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "OrderId")]
pub enum OrderEvent {
    Opened { id: OrderId },
}

#[derive(EsEntity, Debug)]
pub struct Order {
    pub id: OrderId,
    #[es_entity(nested)]
    lines: Nested<Line>,
    events: EntityEvents<OrderEvent>,
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
    fn into_events(self) -> EntityEvents<OrderEvent> {
        EntityEvents::init(self.id, [OrderEvent::Opened { id: self.id }])
    }
}

#[derive(EsRepo)]
#[es_repo(
    entity = "Order",
    tbl = "bench_ours_orders",
    events_tbl = "bench_ours_order_events"
)]
pub struct Orders {
    pool: sqlx::PgPool,
    #[es_repo(nested(
        tbl = "bench_ours_lines",
        events_tbl = "bench_ours_line_events",
        parent_column = "order_id"
    ))]
    lines: Lines,
}

/// Ours' three repositories, on one pool.
pub struct OursDeep {
    meters: Meters,
    plain: PlainMeters,
    orders: Orders,
}

impl OursDeep {
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

impl Deep for OursDeep {
    type Meter = Meter;
    type Plain = PlainMeter;
    const NAME: &'static str = "ours";

    async fn create_meter(&self, id: Uuid) -> Res<Meter> {
        Ok(self.meters.create(NewMeter { id: id.into() }).await?)
    }

    fn deposit(meter: &mut Meter, amount: i64) {
        meter.deposit(amount);
    }

    async fn update_meter<'a>(&'a self, meter: &'a mut Meter) -> Res<()> {
        self.meters.update(meter).await?;
        Ok(())
    }

    async fn find_meter(&self, id: Uuid) -> Res<Meter> {
        Ok(self.meters.find_by_id(MeterId::from(id)).await?)
    }

    fn meter(meter: &Meter) -> MeterView {
        MeterView {
            id: meter.id.into(),
            events: meter.events.len_persisted(),
            balance: meter.state.balance,
            snapshot: meter.events.loaded_from_snapshot(),
        }
    }

    async fn find_plain(&self, id: Uuid) -> Res<PlainMeter> {
        Ok(self.plain.find_by_id(MeterId::from(id)).await?)
    }

    fn deposit_plain(meter: &mut PlainMeter, amount: i64) {
        let event = MeterEvent::Deposited { amount };
        meter.state.apply(&event);
        meter.events.push(event);
    }

    async fn update_plain<'a>(&'a self, meter: &'a mut PlainMeter) -> Res<()> {
        self.plain.update(meter).await?;
        Ok(())
    }

    fn plain(meter: &PlainMeter) -> MeterView {
        MeterView {
            id: meter.id.into(),
            events: meter.events.len_persisted(),
            balance: meter.state.balance,
            snapshot: None,
        }
    }

    async fn seed_order(&self, id: Uuid, lines: &[Uuid], events_per_line: usize) -> Res<()> {
        let order_id = OrderId::from(id);
        let mut order = self.orders.create(NewOrder { id: order_id }).await?;
        for (i, line) in lines.iter().enumerate() {
            order.lines.add_new(NewLine {
                id: LineId::from(*line),
                order_id,
                quantity: i as i64,
            });
        }
        self.orders.update(&mut order).await?;
        let mut order = self.orders.find_by_id(order_id).await?;
        for line in order.lines.iter_persisted_mut() {
            for q in 1..events_per_line {
                line.set_quantity(q as i64);
            }
        }
        self.orders.update(&mut order).await?;
        Ok(())
    }

    async fn find_order(&self, id: Uuid) -> Res<OrderView> {
        let order = self.orders.find_by_id(OrderId::from(id)).await?;
        Ok(OrderView {
            id: order.id.into(),
            events: order.events.len_persisted(),
            lines: order.lines.len_persisted(),
            line_events: order
                .lines
                .iter_persisted()
                .map(|l| l.events.len_persisted())
                .sum(),
            quantity: order.lines.iter_persisted().map(|l| l.quantity).sum(),
        })
    }
}
