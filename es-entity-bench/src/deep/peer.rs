//! The peer (es-entity 0.20.3) for the snapshot and nested workloads; its
//! entities and repositories are in `peer/src/deep.rs`.

use es_entity_bench_peer::deep::{
    LineId, Meter, MeterId, NewMeter, NewOrder, OrderId, PeerDeep, PlainMeter,
};
use uuid::Uuid;

use super::{Deep, MeterView, OrderView};
use crate::subject::{BoxError, Res};

fn boxed(e: impl std::fmt::Debug) -> BoxError {
    format!("{e:?}").into()
}

impl Deep for PeerDeep {
    type Meter = Meter;
    type Plain = PlainMeter;
    const NAME: &'static str = "peer";

    async fn create_meter(&self, id: Uuid) -> Res<Meter> {
        self.meters
            .create(NewMeter {
                id: MeterId::from(id),
            })
            .await
            .map_err(boxed)
    }

    fn deposit(meter: &mut Meter, amount: i64) {
        meter.deposit(amount);
    }

    async fn update_meter<'a>(&'a self, meter: &'a mut Meter) -> Res<()> {
        self.meters.update(meter).await.map_err(boxed)?;
        Ok(())
    }

    async fn find_meter(&self, id: Uuid) -> Res<Meter> {
        self.meters
            .find_by_id(MeterId::from(id))
            .await
            .map_err(boxed)
    }

    fn meter(meter: &Meter) -> MeterView {
        MeterView {
            id: meter.id.into(),
            events: meter.persisted_events(),
            balance: meter.state.balance,
            snapshot: meter.snapshot_sequence(),
        }
    }

    async fn find_plain(&self, id: Uuid) -> Res<PlainMeter> {
        self.plain
            .find_by_id(MeterId::from(id))
            .await
            .map_err(boxed)
    }

    fn deposit_plain(meter: &mut PlainMeter, amount: i64) {
        meter.deposit(amount);
    }

    async fn update_plain<'a>(&'a self, meter: &'a mut PlainMeter) -> Res<()> {
        self.plain.update(meter).await.map_err(boxed)?;
        Ok(())
    }

    fn plain(meter: &PlainMeter) -> MeterView {
        MeterView {
            id: meter.id.into(),
            events: meter.persisted_events(),
            balance: meter.state.balance,
            snapshot: None,
        }
    }

    async fn seed_order(&self, id: Uuid, lines: &[Uuid], events_per_line: usize) -> Res<()> {
        let order_id = OrderId::from(id);
        let mut order = self
            .orders
            .create(NewOrder { id: order_id })
            .await
            .map_err(boxed)?;
        for (i, line) in lines.iter().enumerate() {
            order.add_line(LineId::from(*line), i as i64);
        }
        self.orders.update(&mut order).await.map_err(boxed)?;
        let mut order = self.orders.find_by_id(order_id).await.map_err(boxed)?;
        for line in order.lines_mut() {
            for q in 1..events_per_line {
                line.set_quantity(q as i64);
            }
        }
        self.orders.update(&mut order).await.map_err(boxed)?;
        Ok(())
    }

    async fn find_order(&self, id: Uuid) -> Res<OrderView> {
        let order = self
            .orders
            .find_by_id(OrderId::from(id))
            .await
            .map_err(boxed)?;
        Ok(OrderView {
            id: order.id.into(),
            events: order.persisted_events(),
            lines: order.lines().count(),
            line_events: order.lines().map(|l| l.persisted_events()).sum(),
            quantity: order.lines().map(|l| l.quantity).sum(),
        })
    }
}
