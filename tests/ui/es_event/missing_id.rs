use es_entity::EsEvent;
use serde::{Deserialize, Serialize};

#[derive(EsEvent, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UserEvent {
    Initialized { name: String },
}

fn main() {}
