// An entity is a struct with named fields (one holds its events).
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
pub struct User(EntityEvents<UserEvent>);

fn main() {}
