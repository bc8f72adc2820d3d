// With `id(source = "repo")` the repository assigns the id and hands it to
// `IntoEventsWithId`; a `New` type that only implements `IntoEvents` (it
// carries its own id) is reported with what to implement.
use es_entity::*;
use serde::{Deserialize, Serialize};

entity_id! { CouponId }

#[derive(EsEvent, Debug, Serialize, Deserialize)]
#[serde(tag = "type")]
#[es_event(id = "CouponId")]
pub enum CouponEvent {
    Issued { code: String, percent: i32 },
}

#[derive(EsEntity)]
pub struct Coupon {
    pub id: CouponId,
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
    pub id: CouponId,
    pub code: String,
    pub percent: i32,
}

impl IntoEvents<CouponEvent> for NewCoupon {
    fn into_events(self) -> EntityEvents<CouponEvent> {
        let issued = CouponEvent::Issued { code: self.code, percent: self.percent };
        EntityEvents::init(self.id, [issued])
    }
}

#[derive(EsRepo)]
#[es_repo(
    entity = "Coupon",
    id(source = "repo"),
    columns(code(ty = "String", unique), percent = "i32")
)]
pub struct Coupons {
    pool: sqlx::PgPool,
}

fn main() {}
