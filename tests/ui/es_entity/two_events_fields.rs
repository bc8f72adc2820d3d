use es_entity::{EntityEvents, EsEntity, EsEvent};
use serde::{Deserialize, Serialize};

es_entity::entity_id! { UserId }

#[derive(EsEvent, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "UserId")]
pub enum UserEvent {
    Initialized { id: UserId },
}

#[derive(EsEntity)]
pub struct User {
    id: UserId,
    #[es_entity(events)]
    events: EntityEvents<UserEvent>,
    #[es_entity(events)]
    audit: EntityEvents<UserEvent>,
}

fn main() {}
