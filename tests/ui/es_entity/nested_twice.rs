// The parent repository finds a nested field by its child type: two fields
// of one child type are ambiguous.
use es_entity::{EntityEvents, EntityHydrationError, EsEntity, EsEvent, IntoEvents, TryFromEvents};
use serde::{Deserialize, Serialize};

es_entity::entity_id! { OrderId }

#[derive(EsEvent, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "OrderId")]
pub enum OrderEvent {
    Opened { id: OrderId },
}

es_entity::entity_id! { LineId }

#[derive(EsEvent, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "LineId")]
pub enum LineEvent {
    Added { id: LineId },
}

#[derive(EsEntity)]
pub struct Line {
    id: LineId,
    events: EntityEvents<LineEvent>,
}

impl TryFromEvents<LineEvent> for Line {
    fn try_from_events(_: EntityEvents<LineEvent>) -> Result<Self, EntityHydrationError> {
        unimplemented!()
    }
}

pub struct NewLine;
impl IntoEvents<LineEvent> for NewLine {
    fn into_events(self) -> EntityEvents<LineEvent> {
        unimplemented!()
    }
}

#[derive(EsEntity)]
pub struct Order {
    id: OrderId,
    #[es_entity(nested)]
    lines: es_entity::Nested<Line>,
    #[es_entity(nested)]
    more_lines: es_entity::Nested<Line>,
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
