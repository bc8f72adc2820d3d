// `leaflets.pages` is INT: an `i64` column type does not fit (values
// past `i32` would fail at run time), and the
// build fails at the column's declaration (sqlx's check, offline from the
// committed `.sqlx/`, whose statements tests/it/column_types.rs prepares).
use es_entity::*;
use serde::{Deserialize, Serialize};

entity_id! { LeafletId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[es_event(id = "LeafletId")]
pub enum LeafletEvent {
    Printed { pages: i64 },
}

#[derive(EsEntity)]
pub struct Leaflet {
    pub id: LeafletId,
    pub pages: i64,
    events: EntityEvents<LeafletEvent>,
}

impl TryFromEvents<LeafletEvent> for Leaflet {
    fn try_from_events(events: EntityEvents<LeafletEvent>) -> Result<Self, EntityHydrationError> {
        let pages = events
            .iter_all()
            .map(|LeafletEvent::Printed { pages }| *pages)
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
    pages: i64,
}

impl IntoEvents<LeafletEvent> for NewLeaflet {
    fn into_events(self) -> EntityEvents<LeafletEvent> {
        EntityEvents::init(self.id, [LeafletEvent::Printed { pages: self.pages }])
    }
}

#[derive(EsRepo)]
#[es_repo(entity = "Leaflet", columns(pages = "i64"))]
pub struct Leaflets {
    pool: sqlx::PgPool,
}

fn main() {}
