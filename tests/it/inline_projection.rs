//! Inline projections (`#[es_repo(post_persist_hook = "...")]`): a method
//! of the repository that every write runs in its own transaction, after
//! its statement, with the entity and the events it just stored. Here it
//! keeps a read model (`product_stock`) and an outbox (`product_outbox`).
//!
//! Checked against PostgreSQL: the hook runs for every write that stores
//! events and sees exactly those events; `_in_op` writes live and die with
//! the caller's transaction; and a repository without a hook still sends
//! one statement per write. What failures leave behind is in
//! `inline_projection_failures.rs`.

use std::fmt;

use es_entity::*;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::repo_fixtures::{NewTally, Tallies, stored_events, unique};
use crate::repo_round_trips::counting;

// ANCHOR: entity
entity_id! { ProductId }

#[derive(EsEvent, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "ProductId")]
pub enum ProductEvent {
    Listed { name: String },
    Restocked { quantity: i64 },
    Sold { quantity: i64 },
    Renamed { name: String },
    Discontinued,
}

#[derive(EsEntity, Debug)]
pub struct Product {
    pub id: ProductId,
    pub name: String,
    pub in_stock: i64,
    pub discontinued: bool,
    events: EntityEvents<ProductEvent>,
}
// ANCHOR_END: entity

impl Product {
    pub fn restock(&mut self, quantity: i64) {
        self.in_stock += quantity;
        self.events.push(ProductEvent::Restocked { quantity });
    }

    /// Records a sale; the stock may go negative (the read model refuses that).
    pub fn sell(&mut self, quantity: i64) {
        self.in_stock -= quantity;
        self.events.push(ProductEvent::Sold { quantity });
    }

    pub fn rename(&mut self, name: &str) {
        self.name = name.to_owned();
        self.events.push(ProductEvent::Renamed {
            name: name.to_owned(),
        });
    }

    pub fn discontinue(&mut self) {
        self.discontinued = true;
        self.events.push(ProductEvent::Discontinued);
    }
}

impl TryFromEvents<ProductEvent> for Product {
    fn try_from_events(events: EntityEvents<ProductEvent>) -> Result<Self, EntityHydrationError> {
        let (mut name, mut in_stock, mut discontinued) = (None, 0, false);
        for event in events.iter_all() {
            match event {
                ProductEvent::Listed { name: n } | ProductEvent::Renamed { name: n } => {
                    name = Some(n.clone())
                }
                ProductEvent::Restocked { quantity } => in_stock += quantity,
                ProductEvent::Sold { quantity } => in_stock -= quantity,
                ProductEvent::Discontinued => discontinued = true,
            }
        }
        Ok(Product {
            id: *events.id(),
            name: name.ok_or_else(|| events.missing_field("name"))?,
            in_stock,
            discontinued,
            events,
        })
    }
}

#[derive(Debug, Clone)]
pub struct NewProduct {
    pub id: ProductId,
    pub name: String,
    /// Stocked with the listing, as a second event of the create.
    pub in_stock: i64,
}

impl NewProduct {
    pub fn new(name: &str, in_stock: i64) -> Self {
        Self {
            id: ProductId::new(),
            name: name.to_owned(),
            in_stock,
        }
    }
}

impl IntoEvents<ProductEvent> for NewProduct {
    fn into_events(self) -> EntityEvents<ProductEvent> {
        EntityEvents::init(
            self.id,
            [
                ProductEvent::Listed { name: self.name },
                ProductEvent::Restocked {
                    quantity: self.in_stock,
                },
            ],
        )
    }
}

// ANCHOR: repo
#[derive(EsRepo, Debug, Clone)]
#[es_repo(
    entity = "Product",
    columns(name = "String"),
    delete = "soft",
    post_persist_hook = "project"
)]
pub struct Products {
    pool: PgPool,
}
// ANCHOR_END: repo

impl Products {
    pub fn new(pool: &PgPool) -> Self {
        Self { pool: pool.clone() }
    }
}

// ANCHOR: hook
impl Products {
    /// Runs after every write that stores events of a product, in the
    /// write's transaction: the read model and the outbox commit with the
    /// events, or not at all.
    async fn project(
        &self,
        op: &mut impl AtomicOperation,
        product: &Product,
        new_events: LastPersisted<'_, ProductEvent>,
    ) -> Result<(), ProjectionError> {
        if product.in_stock < 0 {
            // Refusing fails the write: nothing of it is stored.
            return Err(ProjectionError::Oversold {
                product_id: product.id,
                in_stock: product.in_stock,
            });
        }
        let version = i32::try_from(product.events().len_persisted()).expect("fits INT");
        if product.discontinued {
            sqlx::query!(
                "DELETE FROM product_stock WHERE id = $1",
                product.id as ProductId
            )
            .execute(op.as_executor())
            .await?;
        } else {
            sqlx::query!(
                "INSERT INTO product_stock (id, name, in_stock, version) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO UPDATE \
                 SET name = EXCLUDED.name, in_stock = EXCLUDED.in_stock, version = EXCLUDED.version",
                product.id as ProductId,
                product.name,
                product.in_stock,
                version
            )
            .execute(op.as_executor())
            .await?;
        }
        // One outbox row per new event, in one statement.
        let (mut sequences, mut types, mut times) = (Vec::new(), Vec::new(), Vec::new());
        for persisted in new_events {
            sequences.push(i32::try_from(persisted.sequence).expect("fits INT"));
            types.push(persisted.event.event_type());
            times.push(persisted.recorded_at);
        }
        sqlx::query!(
            "INSERT INTO product_outbox (product_id, sequence, event_type, recorded_at) \
             SELECT $1, s, t, r FROM UNNEST($2::INT[], $3::TEXT[], $4::TIMESTAMPTZ[]) AS u(s, t, r)",
            product.id as ProductId,
            &sequences,
            &types as &[&str],
            &times
        )
        .execute(op.as_executor())
        .await?;
        Ok(())
    }
}
// ANCHOR_END: hook

// ANCHOR: error
/// What the hook fails with; the write's error holds it as
/// `PostPersistHook(PostPersistHookError)`, from which `downcast_ref` gets
/// it back.
#[derive(Debug)]
pub enum ProjectionError {
    Oversold {
        product_id: ProductId,
        in_stock: i64,
    },
    Sqlx(sqlx::Error),
}
// ANCHOR_END: error

impl From<sqlx::Error> for ProjectionError {
    fn from(e: sqlx::Error) -> Self {
        Self::Sqlx(e)
    }
}

impl fmt::Display for ProjectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Oversold {
                product_id,
                in_stock,
            } => write!(f, "product {product_id} oversold: {in_stock} in stock"),
            Self::Sqlx(e) => write!(f, "projecting a product: {e}"),
        }
    }
}

impl std::error::Error for ProjectionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Sqlx(e) => Some(e),
            Self::Oversold { .. } => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Plain-SQL probes of the tables.

/// The read model's row: `(name, in_stock, version)`.
pub(crate) async fn stock_row(pool: &PgPool, id: ProductId) -> Option<(String, i64, i32)> {
    sqlx::query_as("SELECT name, in_stock, version FROM product_stock WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .expect("read product_stock")
}

/// The outbox rows of `id`: `(sequence, event_type, recorded_at)`.
pub(crate) async fn outbox(pool: &PgPool, id: ProductId) -> Vec<(i32, String, DateTime)> {
    sqlx::query_as(
        "SELECT sequence, event_type, recorded_at FROM product_outbox \
         WHERE product_id = $1 ORDER BY sequence",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .expect("read product_outbox")
}

pub(crate) type DateTime = es_entity::prelude::DateTime<es_entity::prelude::Utc>;

/// The stored events of `id`, as the outbox should hold them.
pub(crate) async fn events(pool: &PgPool, id: ProductId) -> Vec<(i32, String, DateTime)> {
    stored_events(pool, "product_events", id).await
}

/// The `products` row's name, if the row exists.
pub(crate) async fn index_name(pool: &PgPool, id: ProductId) -> Option<String> {
    sqlx::query_scalar("SELECT name FROM products WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .expect("read products")
}

/// Nothing of `id` is stored: no index row, no events, no read model, no outbox.
pub(crate) async fn assert_nothing_stored(pool: &PgPool, id: ProductId) {
    assert_eq!(index_name(pool, id).await, None);
    assert!(events(pool, id).await.is_empty());
    assert_eq!(stock_row(pool, id).await, None);
    assert!(outbox(pool, id).await.is_empty());
}

/// The projection error behind a failed write.
pub(crate) fn projection_error(hook: Option<&PostPersistHookError>) -> &ProjectionError {
    let hook = hook.expect("a post-persist hook failure");
    assert_eq!(hook.hook(), "project");
    hook.downcast_ref::<ProjectionError>()
        .expect("the hook's own error type")
}

/// The outbox as `(sequence, event_type)` pairs.
pub(crate) fn kinds(rows: &[(i32, String, DateTime)]) -> Vec<(i32, &str)> {
    rows.iter().map(|(s, t, _)| (*s, t.as_str())).collect()
}

// ---------------------------------------------------------------------------

#[tokio::test]
async fn create_update_and_delete_keep_the_read_model_in_step() {
    let pool = es_entity_tests::pool().await;
    let products = Products::new(&pool);

    let mut lamp = products
        .create(NewProduct::new(&unique("lamp"), 5))
        .await
        .unwrap();
    assert_eq!(
        stock_row(&pool, lamp.id).await,
        Some((lamp.name.clone(), 5, 2))
    );
    assert_eq!(
        kinds(&outbox(&pool, lamp.id).await),
        [(1, "listed"), (2, "restocked")]
    );

    lamp.sell(2);
    lamp.rename(&unique("desk lamp"));
    assert_eq!(products.update(&mut lamp).await.unwrap(), 2);
    assert_eq!(
        stock_row(&pool, lamp.id).await,
        Some((lamp.name.clone(), 3, 4))
    );
    assert_eq!(
        kinds(&outbox(&pool, lamp.id).await),
        [(1, "listed"), (2, "restocked"), (3, "sold"), (4, "renamed")]
    );

    // Nothing new: no statement, no hook (a second run would collide on
    // the outbox's primary key).
    assert_eq!(products.update(&mut lamp).await.unwrap(), 0);
    assert_eq!(outbox(&pool, lamp.id).await.len(), 4);

    // A soft delete that stores an event runs the hook too.
    lamp.discontinue();
    let id = lamp.id;
    products.delete(lamp).await.unwrap();
    assert_eq!(stock_row(&pool, id).await, None);
    assert_eq!(outbox(&pool, id).await.len(), 5);
    assert!(products.maybe_find_by_id(id).await.unwrap().is_none());
}

#[tokio::test]
async fn batches_run_the_hook_once_per_entity_that_has_new_events() {
    let pool = es_entity_tests::pool().await;
    let products = Products::new(&pool);
    let mut batch = products
        .create_all(vec![
            NewProduct::new(&unique("a"), 1),
            NewProduct::new(&unique("b"), 2),
            NewProduct::new(&unique("c"), 3),
        ])
        .await
        .unwrap();
    for (product, stock) in batch.iter().zip([1, 2, 3]) {
        assert_eq!(
            stock_row(&pool, product.id).await,
            Some((product.name.clone(), stock, 2))
        );
        assert_eq!(
            outbox(&pool, product.id).await,
            events(&pool, product.id).await
        );
    }

    batch[0].restock(10);
    batch[2].sell(1);
    batch[2].sell(1);
    assert_eq!(products.update_all(&mut batch).await.unwrap(), 3);
    assert_eq!(stock_row(&pool, batch[0].id).await.unwrap().1, 11);
    assert_eq!(
        stock_row(&pool, batch[1].id).await.unwrap(),
        (batch[1].name.clone(), 2, 2)
    );
    assert_eq!(stock_row(&pool, batch[2].id).await.unwrap().1, 1);
    for product in &batch {
        assert_eq!(
            outbox(&pool, product.id).await,
            events(&pool, product.id).await
        );
    }
    assert_eq!(
        outbox(&pool, batch[1].id).await.len(),
        2,
        "no new events, no hook"
    );

    // Within a caller's transaction too.
    let mut op = products.begin_op().await.unwrap();
    let mut more = products
        .create_all_in_op(&mut op, vec![NewProduct::new(&unique("d"), 4)])
        .await
        .unwrap();
    more[0].sell(4);
    products.update_all_in_op(&mut op, &mut more).await.unwrap();
    op.commit().await.unwrap();
    assert_eq!(
        stock_row(&pool, more[0].id).await,
        Some((more[0].name.clone(), 0, 3))
    );
}

#[tokio::test]
async fn the_hook_sees_exactly_the_new_events() {
    let pool = es_entity_tests::pool().await;
    let products = Products::new(&pool);
    let mut product = products
        .create(NewProduct::new(&unique("kettle"), 3))
        .await
        .unwrap();
    product.sell(1);
    product.sell(1);
    products.update(&mut product).await.unwrap();

    // The outbox holds each event once, with the sequence and time it was
    // stored with: each hook got that write's events, no more, no fewer.
    let stored = events(&pool, product.id).await;
    assert_eq!(stored.len(), 4);
    assert_eq!(outbox(&pool, product.id).await, stored);
    let in_memory: Vec<_> = product
        .events()
        .iter_persisted()
        .map(|p| (p.sequence, p.recorded_at))
        .collect();
    let in_outbox: Vec<_> = stored
        .iter()
        .map(|(s, _, at)| (usize::try_from(*s).unwrap(), *at))
        .collect();
    assert_eq!(in_memory, in_outbox);

    // Expecting an exact version, or any.
    product.restock(5);
    products
        .update_expecting(&mut product, ExpectedVersion::Exact(4))
        .await
        .unwrap();
    product.sell(2);
    products
        .update_expecting(&mut product, ExpectedVersion::Any)
        .await
        .unwrap();
    assert_eq!(stock_row(&pool, product.id).await.unwrap().1, 4);

    // Last writer wins: a copy that missed another writer's event appends
    // after it; its hook gets its own event only, at the sequence it got.
    let mut stale = products.find_by_id(product.id).await.unwrap();
    product.sell(1);
    products.update(&mut product).await.unwrap();
    stale.restock(10);
    let done = products.update_unchecked(&mut stale).await.unwrap();
    assert_eq!(
        done,
        UncheckedWrite {
            written: 1,
            missed: 1
        }
    );
    assert_eq!(
        kinds(&outbox(&pool, product.id).await)[6..],
        [(7, "sold"), (8, "restocked")]
    );
    assert_eq!(
        outbox(&pool, product.id).await,
        events(&pool, product.id).await
    );
    // The hook read the rebuilt entity: both writers' changes.
    assert_eq!(
        stock_row(&pool, product.id).await.unwrap(),
        (product.name.clone(), 13, 8)
    );
}

// ANCHOR: in_op
#[tokio::test]
async fn in_op_writes_live_and_die_with_the_callers_transaction() {
    let pool = es_entity_tests::pool().await;
    let products = Products::new(&pool);

    let mut op = products.begin_op().await.unwrap();
    let mut product = products
        .create_in_op(&mut op, NewProduct::new(&unique("vase"), 2))
        .await
        .unwrap();
    product.sell(1);
    products.update_in_op(&mut op, &mut product).await.unwrap();
    // The read model is written in the caller's transaction...
    let in_op: i64 = sqlx::query_scalar("SELECT in_stock FROM product_stock WHERE id = $1")
        .bind(product.id)
        .fetch_one(op.as_executor())
        .await
        .unwrap();
    assert_eq!(in_op, 1);
    // ...and goes with it.
    op.rollback().await.unwrap();
    assert_nothing_stored(&pool, product.id).await;
}
// ANCHOR_END: in_op

#[tokio::test]
async fn a_hook_adds_its_statements_and_a_commit_a_repo_without_one_does_not() {
    counting(|pool, counter| async move {
        // Without a hook: one statement per write.
        let tallies = Tallies::new(&pool);
        let mut tally = tallies.create(NewTally::fresh(vec![1])).await.unwrap();
        assert_eq!(counter.take().len(), 1, "create without a hook");
        tally.count(2);
        tallies.update(&mut tally).await.unwrap();
        assert_eq!(counter.take().len(), 1, "update without a hook");

        // With one: the write, the hook's two statements, COMMIT (sqlx
        // does not log BEGIN). The first write reads the catalog first.
        let products = Products::new(&pool);
        products
            .create(NewProduct::new(&unique("warm-up"), 1))
            .await
            .unwrap();
        counter.take();
        let mut product = products
            .create(NewProduct::new(&unique("lamp"), 1))
            .await
            .unwrap();
        let seen = counter.take();
        assert_eq!(seen.len(), 4, "{seen:#?}");
        assert!(
            seen[0].starts_with("WITH entity AS (INSERT INTO products"),
            "{}",
            seen[0]
        );
        assert!(
            seen[1].starts_with("INSERT INTO product_stock"),
            "{}",
            seen[1]
        );
        assert!(
            seen[2].starts_with("INSERT INTO product_outbox"),
            "{}",
            seen[2]
        );
        assert_eq!(seen[3], "COMMIT");

        product.sell(1);
        products.update(&mut product).await.unwrap();
        assert_eq!(counter.take().len(), 4, "update with a hook");
        assert_eq!(products.update(&mut product).await.unwrap(), 0);
        assert!(counter.take().is_empty(), "nothing new: nothing sent");
    })
    .await;
}

/// The writes of a repository with a hook stay `Send` futures (so they can
/// run in `tokio::spawn`), the hook's included. Compiling is the test.
#[allow(dead_code)]
fn hooked_writes_are_send(products: &Products, product: &mut Product, op: &mut DbOp<'static>) {
    fn send<T: Send>(_: T) {}
    send(products.create(NewProduct::new("a", 1)));
    send(products.create_in_op(op, NewProduct::new("a", 1)));
    send(products.create_all(vec![NewProduct::new("a", 1)]));
    send(products.update(product));
    send(products.update_in_op(op, product));
    send(products.update_expecting(product, ExpectedVersion::Any));
    send(products.update_unchecked(product));
    send(products.update_all(std::slice::from_mut(product)));
}
