// `find_by = false` generates no `find_by_<col>` / `maybe_find_by_<col>`.
// The repository is the `Parcels` fixture of tests/it/repo_fixtures.rs, so
// its (successfully generated) queries are in the `.sqlx` cache.
use es_entity::*;
use serde::{Deserialize, Serialize};

entity_id! { ParcelNo }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "ParcelNo")]
pub enum ParcelHistory {
    Registered { tracking: String, weight_grams: i32 },
}

#[derive(EsEntity, Debug)]
#[es_entity(event = "ParcelHistory")]
pub struct Parcel {
    pub id: ParcelNo,
    pub tracking: String,
    pub weight_grams: i32,
    events: EntityEvents<ParcelHistory>,
}

impl TryFromEvents<ParcelHistory> for Parcel {
    fn try_from_events(events: EntityEvents<ParcelHistory>) -> Result<Self, EntityHydrationError> {
        let ParcelHistory::Registered { tracking, weight_grams } =
            events.iter_all().next().cloned().ok_or_else(|| events.missing_field("tracking"))?;
        Ok(Parcel { id: *events.id(), tracking, weight_grams, events })
    }
}

pub struct NewParcel {
    pub id: ParcelNo,
    pub tracking: String,
    pub weight_grams: i32,
}

impl IntoEvents<ParcelHistory> for NewParcel {
    fn into_events(self) -> EntityEvents<ParcelHistory> {
        EntityEvents::init(
            self.id,
            [ParcelHistory::Registered { tracking: self.tracking, weight_grams: self.weight_grams }],
        )
    }
}

#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Parcel",
    id = "ParcelNo",
    event = "ParcelHistory",
    tbl = "shipping_parcels",
    events_tbl = "shipping_parcel_log",
    columns(tracking = "String", weight_grams(ty = "i32", find_by = false))
)]
pub struct Parcels {
    pool: sqlx::PgPool,
}

async fn lookups(parcels: &Parcels) {
    let _ = parcels.find_by_tracking("T-1".to_owned()).await;
    let _ = parcels.find_by_weight_grams(750).await;
    let _ = parcels.maybe_find_by_weight_grams(750).await;
}

fn main() {
    let _ = lookups;
}
