// With `in_op_only` the pool variants are not generated: `find_by_id` is
// gone, `find_by_id_in_op` is there.
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
#[es_repo(entity = "User", columns(name = "String"), in_op_only)]
pub struct Users {
    pool: sqlx::PgPool,
}

async fn load(users: &Users, id: UserId) {
    let _ = users.find_by_id(id).await;
}

fn main() {}
