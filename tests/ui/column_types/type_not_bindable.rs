// A column type that lacks what the generated code needs (`Pages` is a
// `sqlx::Type` but not `Clone`, and `create` clones each column value):
// the errors point at the column's `ty = "..."`, not at the derive.
// Offline from the committed `.sqlx/`, whose statements for `leaflets`
// tests/it/column_types.rs prepares.
use es_entity::*;
use serde::{Deserialize, Serialize};

entity_id! { LeafletId }

#[derive(Debug, sqlx::Type)]
#[sqlx(transparent)]
pub struct Pages(i32);

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[es_event(id = "LeafletId")]
pub enum LeafletEvent {
    Printed { pages: i32 },
}

#[derive(EsEntity)]
pub struct Leaflet {
    pub id: LeafletId,
    pub pages: Pages,
    events: EntityEvents<LeafletEvent>,
}

impl TryFromEvents<LeafletEvent> for Leaflet {
    fn try_from_events(events: EntityEvents<LeafletEvent>) -> Result<Self, EntityHydrationError> {
        let pages = events
            .iter_all()
            .map(|LeafletEvent::Printed { pages }| Pages(*pages))
            .last()
            .ok_or_else(|| events.missing_field("pages"))?;
        Ok(Leaflet {
            id: *events.id(),
            pages,
            events,
        })
    }
}

pub struct NewLeaflet {
    id: LeafletId,
    pages: Pages,
}

impl IntoEvents<LeafletEvent> for NewLeaflet {
    fn into_events(self) -> EntityEvents<LeafletEvent> {
        EntityEvents::init(self.id, [LeafletEvent::Printed { pages: self.pages.0 }])
    }
}

#[derive(EsRepo)]
#[es_repo(entity = "Leaflet", columns(pages = "Pages"))]
pub struct Leaflets {
    pool: sqlx::PgPool,
}

fn main() {}
