// With `id(source = "repo")` and no `unique` column there is no key to find
// an existing entity by (a new id is held by nobody), so `create_or_find` is
// not generated: `create` is the call.
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
    pub code: String,
    pub percent: i32,
}

impl IntoEventsWithId<CouponEvent> for NewCoupon {
    fn into_events(self, id: CouponId) -> EntityEvents<CouponEvent> {
        let issued = CouponEvent::Issued { code: self.code, percent: self.percent };
        EntityEvents::init(id, [issued])
    }
}

#[derive(EsRepo)]
#[es_repo(
    entity = "Coupon",
    id(source = "repo"),
    columns(code = "String", percent = "i32")
)]
pub struct PlainCoupons {
    pool: sqlx::PgPool,
}

async fn issue(coupons: &PlainCoupons, new: NewCoupon) {
    let _ = coupons.create_or_find(new).await;
}

fn main() {}
