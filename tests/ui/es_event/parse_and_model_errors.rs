// A parse error (an unknown key) and a model error (no variants) come in
// one compile.
use es_entity::EsEvent;
use serde::{Deserialize, Serialize};

es_entity::entity_id! { UserId }

#[derive(EsEvent, Serialize, Deserialize)]
#[es_event(id = "UserId", entity = "User")]
pub enum UserEvent {}

fn main() {}
