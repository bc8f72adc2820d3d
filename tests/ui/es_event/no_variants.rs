// An event enum without variants has no event to store.
use es_entity::EsEvent;
use serde::{Deserialize, Serialize};

es_entity::entity_id! { UserId }

#[derive(EsEvent, Serialize, Deserialize)]
#[es_event(id = "UserId")]
pub enum UserEvent {}

fn main() {}
