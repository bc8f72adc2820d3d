// `post_persist_hook` names a method the repository does not have: the
// error points at the name.
use es_entity::*;
use serde::{Deserialize, Serialize};

entity_id! { UserId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[es_event(id = "UserId")]
pub enum UserEvent {
    Initialized { name: String },
}

#[derive(EsEntity)]
pub struct User {
    pub id: UserId,
    pub name: String,
    events: EntityEvents<UserEvent>,
}

impl TryFromEvents<UserEvent> for User {
    fn try_from_events(events: EntityEvents<UserEvent>) -> Result<Self, EntityHydrationError> {
        let name = match events.iter_all().next() {
            Some(UserEvent::Initialized { name }) => name.clone(),
            None => return Err(events.missing_field("name")),
        };
        Ok(User { id: *events.id(), name, events })
    }
}

pub struct NewUser {
    id: UserId,
    name: String,
}

impl IntoEvents<UserEvent> for NewUser {
    fn into_events(self) -> EntityEvents<UserEvent> {
        EntityEvents::init(self.id, [UserEvent::Initialized { name: self.name }])
    }
}

// The statements are the quickstart's (same table, same column), so the
// committed `.sqlx/` has them and the derive expands offline.
#[derive(EsRepo)]
#[es_repo(entity = "User", columns(name = "String"), post_persist_hook = "project")]
pub struct Users {
    pool: sqlx::PgPool,
}

impl Users {
    async fn projekt(
        &self,
        _op: &mut impl AtomicOperation,
        _user: &User,
        _new_events: LastPersisted<'_, UserEvent>,
    ) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

fn main() {}
