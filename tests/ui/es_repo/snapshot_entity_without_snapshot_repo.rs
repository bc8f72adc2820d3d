// An entity that implements `HeadSnapshot` stored by a repository without
// `snapshot`: its snapshots would never be used, so it does not compile.
use es_entity::*;
use serde::{Deserialize, Serialize};

entity_id! { UserId }

#[derive(EsEvent, Debug, Serialize, Deserialize)]
#[serde(tag = "type")]
#[es_event(id = "UserId")]
pub enum UserEvent {
    Named { name: String },
}

#[derive(EsEntity)]
pub struct User {
    pub id: UserId,
    pub name: String,
    events: EntityEvents<UserEvent>,
}

impl TryFromEvents<UserEvent> for User {
    fn try_from_events(events: EntityEvents<UserEvent>) -> Result<Self, EntityHydrationError> {
        Ok(User { id: *events.id(), name: "x".into(), events })
    }
}

#[derive(Serialize, Deserialize)]
pub struct UserState {
    name: String,
}

impl EsSnapshot for UserState {
    const VERSION: i32 = 1;
}

impl HeadSnapshot for User {
    type Snapshot = UserState;
    fn capture(&self) -> Option<UserState> {
        None
    }
    fn try_from_snapshot(
        s: UserState,
        events: EntityEvents<UserEvent>,
    ) -> Result<Self, EntityHydrationError> {
        Ok(User { id: *events.id(), name: s.name, events })
    }
}

pub struct NewUser {
    pub id: UserId,
    pub name: String,
}

impl IntoEvents<UserEvent> for NewUser {
    fn into_events(self) -> EntityEvents<UserEvent> {
        EntityEvents::init(self.id, [UserEvent::Named { name: self.name }])
    }
}

#[derive(EsRepo)]
#[es_repo(entity = "User", columns(name = "String"))]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
