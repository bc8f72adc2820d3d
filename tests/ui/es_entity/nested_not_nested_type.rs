// `#[es_entity(nested)]` marks a field of child entities: its type must be
// `Nested<Child>`, which the parent repository fills and writes.
use es_entity::{EntityEvents, EntityHydrationError, EsEntity, EsEvent, IntoEvents, TryFromEvents};
use serde::{Deserialize, Serialize};

es_entity::entity_id! { OrderId }

#[derive(EsEvent, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "OrderId")]
pub enum OrderEvent {
    Opened { id: OrderId },
}

pub struct Line;

#[derive(EsEntity)]
pub struct Order {
    id: OrderId,
    #[es_entity(nested)]
    lines: Vec<Line>,
    events: EntityEvents<OrderEvent>,
}

impl TryFromEvents<OrderEvent> for Order {
    fn try_from_events(_: EntityEvents<OrderEvent>) -> Result<Self, EntityHydrationError> {
        unimplemented!()
    }
}

pub struct NewOrder;
impl IntoEvents<OrderEvent> for NewOrder {
    fn into_events(self) -> EntityEvents<OrderEvent> {
        unimplemented!()
    }
}

fn main() {}
