//! Ids the repository assigns (`#[es_repo(id(source = "repo"))]`): `create`,
//! `create_all` (one fresh v7 id per entity), `create_in_op` in a `DbOp`,
//! `create_or_find` keyed by a `unique` column with 8 racers, and a
//! repository without a `unique` column (no `create_or_find`, see
//! tests/ui/es_repo/repo_ids_without_unique_column.rs).

use std::collections::HashSet;
use std::sync::Arc;

use es_entity::*;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::repo_fixtures::unique;
use crate::repo_round_trips::counting;

entity_id! { CouponId }

#[derive(EsEvent, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "CouponId")]
pub enum CouponEvent {
    Issued { code: String, percent: i32 },
}

#[derive(EsEntity, Debug)]
pub struct Coupon {
    pub id: CouponId,
    pub code: String,
    pub percent: i32,
    events: EntityEvents<CouponEvent>,
}

impl TryFromEvents<CouponEvent> for Coupon {
    fn try_from_events(events: EntityEvents<CouponEvent>) -> Result<Self, EntityHydrationError> {
        let Some(CouponEvent::Issued { code, percent }) = events.iter_all().next().cloned() else {
            return Err(events.missing_field("code"));
        };
        Ok(Coupon {
            id: *events.id(),
            code,
            percent,
            events,
        })
    }
}

// ANCHOR: repo
/// No `id` field: the repository assigns one when it creates the coupon.
#[derive(Debug)]
pub struct NewCoupon {
    pub code: String,
    pub percent: i32,
}

impl IntoEventsWithId<CouponEvent> for NewCoupon {
    fn into_events(self, id: CouponId) -> EntityEvents<CouponEvent> {
        let issued = CouponEvent::Issued {
            code: self.code,
            percent: self.percent,
        };
        EntityEvents::init(id, [issued])
    }
}

#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Coupon",
    id(source = "repo"),
    columns(code(ty = "String", unique), percent = "i32")
)]
pub struct Coupons {
    pool: PgPool,
}
// ANCHOR_END: repo

/// The same table without a `unique` column: repository ids and nothing to
/// find by, so no `create_or_find`. In a module of its own: its generated
/// types (`CouponCreateError`, ...) would clash with `Coupons`'.
pub mod plain {
    use super::{Coupon, CouponEvent, CouponId, PgPool};
    use es_entity::EsRepo;

    #[derive(EsRepo, Debug)]
    #[es_repo(
        entity = "Coupon",
        id(source = "repo"),
        columns(code = "String", percent = "i32")
    )]
    pub struct PlainCoupons {
        pub(super) pool: PgPool,
    }
}
use plain::PlainCoupons;

impl Coupons {
    pub fn new(pool: &PgPool) -> Self {
        Self { pool: pool.clone() }
    }
}

pub fn new_coupon(code: &str) -> NewCoupon {
    NewCoupon {
        code: code.to_owned(),
        percent: 10,
    }
}

fn version(id: CouponId) -> usize {
    uuid::Uuid::from(id).get_version_num()
}

#[tokio::test]
async fn create_assigns_a_v7_id() -> Result<(), crate::feed::BoxError> {
    let pool = es_entity_tests::pool().await;
    let coupons = Coupons::new(&pool);
    coupons.check_column_types().await?;
    // Both repositories fit the migration (also checked with every other
    // repository in tests/it/schema.rs).
    es_entity::schema::assert_no_drift(&pool, &[Coupons::schema(), PlainCoupons::schema()]).await;
    // ANCHOR: create
    let code = unique("SPRING");
    let coupon = coupons
        .create(NewCoupon {
            code: code.clone(),
            percent: 15,
        })
        .await?;
    // The id the repository chose, a version 7 UUID.
    let loaded = coupons.find_by_id(coupon.id).await?;
    assert_eq!(loaded.code, code);
    // ANCHOR_END: create
    assert_eq!(version(coupon.id), 7);
    assert_eq!(*coupon.events().id(), coupon.id);
    assert_eq!(loaded.id, coupon.id);
    assert_eq!(loaded.percent, 15);
    assert_eq!(coupon.events().len_persisted(), 1);
    let stored: uuid::Uuid = sqlx::query_scalar("SELECT id FROM coupons WHERE code = $1")
        .bind(&code)
        .fetch_one(&pool)
        .await?;
    assert_eq!(CouponId::from(stored), coupon.id);
    Ok(())
}

#[tokio::test]
async fn create_all_assigns_one_distinct_id_per_entity() -> Result<(), crate::feed::BoxError> {
    let pool = es_entity_tests::pool().await;
    let coupons = Coupons::new(&pool);
    let codes: Vec<String> = (0..5).map(|i| unique(&format!("batch{i}"))).collect();
    let created = coupons
        .create_all(codes.iter().map(|c| new_coupon(c)).collect())
        .await?;
    assert_eq!(
        created.iter().map(|c| c.code.as_str()).collect::<Vec<_>>(),
        codes.iter().map(String::as_str).collect::<Vec<_>>(),
        "input order"
    );
    let ids: HashSet<CouponId> = created.iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), 5, "distinct ids");
    assert!(created.iter().all(|c| version(c.id) == 7));
    let ids: Vec<CouponId> = created.iter().map(|c| c.id).collect();
    let found: std::collections::HashMap<CouponId, Coupon> = coupons.find_all(&ids).await?;
    assert_eq!(found.len(), 5);
    for c in &created {
        assert_eq!(found[&c.id].code, c.code);
    }
    assert!(coupons.create_all(Vec::new()).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn create_in_op_commits_with_the_transaction() -> Result<(), crate::feed::BoxError> {
    let pool = es_entity_tests::pool().await;
    let coupons = Coupons::new(&pool);
    let mut op = coupons.begin_op().await?;
    let one = coupons
        .create_in_op(&mut op, new_coupon(&unique("op")))
        .await?;
    let more = coupons
        .create_all_in_op(
            &mut op,
            vec![new_coupon(&unique("op-a")), new_coupon(&unique("op-b"))],
        )
        .await?;
    assert_eq!(version(one.id), 7);
    // Not visible outside the transaction before it commits.
    assert!(coupons.maybe_find_by_id(one.id).await?.is_none());
    op.commit().await?;
    assert_eq!(coupons.find_by_id(one.id).await?.code, one.code);
    for c in &more {
        assert_eq!(coupons.find_by_id(c.id).await?.code, c.code);
    }

    // A rolled back transaction stores none of its coupons.
    let mut op = coupons.begin_op().await?;
    let gone = coupons
        .create_in_op(&mut op, new_coupon(&unique("rolled")))
        .await?;
    drop(op);
    assert!(coupons.maybe_find_by_id(gone.id).await?.is_none());
    Ok(())
}

#[tokio::test]
async fn create_or_find_is_keyed_by_the_unique_column() -> Result<(), crate::feed::BoxError> {
    let pool = es_entity_tests::pool().await;
    let coupons = Coupons::new(&pool);
    // ANCHOR: create_or_find
    let code = unique("WELCOME");
    let first = coupons.create_or_find(new_coupon(&code)).await?;
    assert!(first.was_created());
    // Another call, another assigned id, the same code: the stored coupon.
    let again = coupons.create_or_find(new_coupon(&code)).await?;
    assert!(matches!(&again, CreateOrFind::Found(c) if c.id == first.entity().id));
    // ANCHOR_END: create_or_find

    // Inside a transaction too.
    let mut op = coupons.begin_op().await?;
    let in_op = coupons
        .create_or_find_in_op(&mut op, new_coupon(&code))
        .await?;
    assert!(matches!(&in_op, CreateOrFind::Found(c) if c.id == first.entity().id));
    let fresh = coupons
        .create_or_find_in_op(&mut op, new_coupon(&unique("fresh")))
        .await?;
    assert!(fresh.was_created());
    op.commit().await?;

    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM coupons WHERE code = $1")
        .bind(&code)
        .fetch_one(&pool)
        .await?;
    assert_eq!(stored, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_racers_one_created_the_rest_found() {
    let pool = es_entity_tests::pool_with_size(10).await;
    let coupons = Arc::new(Coupons::new(&pool));
    let code = unique("race");
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let coupons = coupons.clone();
            let barrier = barrier.clone();
            let code = code.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                coupons.create_or_find(new_coupon(&code)).await
            })
        })
        .collect();
    let mut created = 0;
    let mut ids = HashSet::new();
    for racer in racers {
        let outcome = racer.await.unwrap().expect("no racer fails");
        created += usize::from(outcome.was_created());
        ids.insert(outcome.entity().id);
    }
    assert_eq!(created, 1, "exactly one racer creates");
    assert_eq!(ids.len(), 1, "every racer has the same coupon");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM coupons WHERE code = $1")
        .bind(&code)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn a_taken_unique_value_on_create_is_a_duplicate() {
    let pool = es_entity_tests::pool().await;
    let coupons = Coupons::new(&pool);
    let code = unique("dup");
    coupons.create(new_coupon(&code)).await.unwrap();
    let err = coupons.create(new_coupon(&code)).await.unwrap_err();
    assert!(err.was_duplicate(), "{err:?}");
}

#[tokio::test]
async fn without_a_unique_column_create_still_assigns_ids() -> Result<(), crate::feed::BoxError> {
    let pool = es_entity_tests::pool().await;
    let plain = PlainCoupons { pool: pool.clone() };
    let a = plain.create(new_coupon(&unique("plain"))).await?;
    let b = plain
        .create_all(vec![new_coupon(&unique("plain-a"))])
        .await?;
    assert_ne!(a.id, b[0].id);
    assert_eq!(version(b[0].id), 7);
    assert_eq!(plain.find_by_id(a.id).await?.code, a.code);
    // Both repositories read the same rows.
    assert_eq!(
        Coupons::new(&pool).find_by_id(b[0].id).await?.code,
        b[0].code
    );
    Ok(())
}

#[tokio::test(flavor = "current_thread")]
async fn create_or_find_statements_one_to_create_three_to_find() {
    counting(|pool, counter| async move {
        let coupons = Coupons::new(&pool);
        coupons.check_column_types().await.unwrap();
        counter.take();
        let code = unique("count");
        let created = coupons.create_or_find(new_coupon(&code)).await;
        assert!(created.unwrap().was_created());
        assert_eq!(counter.take().len(), 1, "created: one statement");
        let found = coupons.create_or_find(new_coupon(&code)).await;
        assert!(!found.unwrap().was_created());
        let found = counter.take();
        assert_eq!(found.len(), 3, "found: {found:#?}");
    })
    .await;
}
