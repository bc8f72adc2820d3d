use es_entity::EsEvent;
use serde::{Deserialize, Serialize};

es_entity::entity_id! { UserId }

#[derive(EsEvent, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "UserId", entity = "User")]
pub enum UserEvent {
    Initialized { name: String },
}

fn main() {}
