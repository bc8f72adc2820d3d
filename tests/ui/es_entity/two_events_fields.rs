use es_entity::{EntityEvents, EntityHydrationError, EsEntity, EsEvent, IntoEvents, TryFromEvents};
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

// With the impls a real entity has, the derive's error is the only one:
// the derive still emits its trait impl so nothing else cascades.
impl TryFromEvents<UserEvent> for User {
    fn try_from_events(_: EntityEvents<UserEvent>) -> Result<Self, EntityHydrationError> {
        unimplemented!()
    }
}

pub struct NewUser;
impl IntoEvents<UserEvent> for NewUser {
    fn into_events(self) -> EntityEvents<UserEvent> {
        unimplemented!()
    }
}

fn main() {}
