// With `id(source = "repo")` the repository makes each id with
// `GenerateId::generate()`; an id type without it (here a bare `Uuid`
// instead of an `entity_id!` type) is reported with what to do.
use es_entity::*;
use serde::{Deserialize, Serialize};

#[derive(EsEvent, Debug, Serialize, Deserialize)]
#[serde(tag = "type")]
#[es_event(id = "uuid::Uuid")]
pub enum CouponEvent {
    Issued { code: String, percent: i32 },
}

#[derive(EsEntity)]
pub struct Coupon {
    pub id: uuid::Uuid,
    pub code: String,
    pub percent: i32,
    events: EntityEvents<CouponEvent>,
}

impl TryFromEvents<CouponEvent> for Coupon {
    fn try_from_events(events: EntityEvents<CouponEvent>) -> Result<Self, EntityHydrationError> {
        let (code, percent) = match events.iter_all().next() {
            Some(CouponEvent::Issued { code, percent }) => (code.clone(), *percent),
            None => return Err(events.missing_field("code")),
        };
        Ok(Coupon { id: *events.id(), code, percent, events })
    }
}

pub struct NewCoupon {
    pub code: String,
    pub percent: i32,
}

impl IntoEventsWithId<CouponEvent> for NewCoupon {
    fn into_events(self, id: uuid::Uuid) -> EntityEvents<CouponEvent> {
        let issued = CouponEvent::Issued { code: self.code, percent: self.percent };
        EntityEvents::init(id, [issued])
    }
}

#[derive(EsRepo)]
#[es_repo(
    entity = "Coupon",
    id(ty = "uuid::Uuid", source = "repo"),
    columns(code(ty = "String", unique), percent = "i32")
)]
pub struct Coupons {
    pool: sqlx::PgPool,
}

fn main() {}
