// A crate whose own `sqlx` is not the sqlx 0.9 es-entity is built with, as
// when its Cargo.toml says `sqlx = "0.8"`: `::sqlx` names another crate. The
// `extern crate` line plays that dependency (see tests/other-sqlx). The derive
// must fail with one message saying so, spanned at the derive.
extern crate other_sqlx as sqlx;

use es_entity::prelude::*;

entity_id! { UserId }

#[derive(EsEvent, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "UserId")]
pub enum UserEvent {
    Initialized { id: UserId },
}

#[derive(EsEntity)]
pub struct User {
    id: UserId,
    events: EntityEvents<UserEvent>,
}

impl TryFromEvents<UserEvent> for User {
    fn try_from_events(events: EntityEvents<UserEvent>) -> Result<Self, EntityHydrationError> {
        Ok(User { id: *events.id(), events })
    }
}

pub struct NewUser {
    id: UserId,
}

impl IntoEvents<UserEvent> for NewUser {
    fn into_events(self) -> EntityEvents<UserEvent> {
        EntityEvents::init(self.id, [UserEvent::Initialized { id: self.id }])
    }
}

fn main() {}
