//! Nested entities: an order owns its lines (book/src/nested.md). The
//! order's writes persist new and changed lines in the same transaction,
//! one statement per child repository whatever the number of lines; its
//! reads load the order, its lines and every event of both in one statement.

use std::sync::Arc;

use es_entity::prelude::*;
use es_entity::{NestedError, RetryableError};
use tokio::sync::Barrier;

use crate::repo_round_trips::counting;

// ANCHOR: child
entity_id! { LineId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "LineId")]
pub enum LineEvent {
    Added {
        order_id: OrderId,
        sku: String,
        quantity: u32,
    },
    QuantityChanged {
        quantity: u32,
    },
}

#[derive(EsEntity, Debug)]
pub struct Line {
    pub id: LineId,
    pub order_id: OrderId,
    pub sku: String,
    pub quantity: u32,
    events: EntityEvents<LineEvent>,
}

impl Line {
    pub fn set_quantity(&mut self, quantity: u32) {
        self.quantity = quantity;
        self.events.push(LineEvent::QuantityChanged { quantity });
    }
}

impl TryFromEvents<LineEvent> for Line {
    fn try_from_events(events: EntityEvents<LineEvent>) -> Result<Self, EntityHydrationError> {
        let mut line = None;
        for event in events.iter_all() {
            match event {
                LineEvent::Added {
                    order_id,
                    sku,
                    quantity,
                } => line = Some((*order_id, sku.clone(), *quantity)),
                LineEvent::QuantityChanged { quantity } => {
                    if let Some(l) = line.as_mut() {
                        l.2 = *quantity;
                    }
                }
            }
        }
        let (order_id, sku, quantity) = line.ok_or_else(|| events.missing_field("sku"))?;
        Ok(Line {
            id: *events.id(),
            order_id,
            sku,
            quantity,
            events,
        })
    }
}

pub struct NewLine {
    pub id: LineId,
    pub order_id: OrderId,
    pub sku: String,
    pub quantity: u32,
}

impl IntoEvents<LineEvent> for NewLine {
    fn into_events(self) -> EntityEvents<LineEvent> {
        EntityEvents::init(
            self.id,
            [LineEvent::Added {
                order_id: self.order_id,
                sku: self.sku,
                quantity: self.quantity,
            }],
        )
    }
}

/// The child repository: `order_id` is the parent key.
#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Line",
    delete = "soft",
    columns(order_id(ty = "OrderId", parent), sku = "String")
)]
pub struct Lines {
    pool: sqlx::PgPool,
}
// ANCHOR_END: child

// ANCHOR: parent
entity_id! { OrderId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "OrderId")]
pub enum OrderEvent {
    Opened { customer: String },
    CustomerChanged { customer: String },
}

#[derive(EsEntity, Debug)]
pub struct Order {
    pub id: OrderId,
    pub customer: String,
    #[es_entity(nested)]
    lines: Nested<Line>,
    events: EntityEvents<OrderEvent>,
}

impl Order {
    /// Stages a new line: the order's next write creates it.
    pub fn add_line(&mut self, sku: impl Into<String>, quantity: u32) -> LineId {
        let id = LineId::new();
        self.lines.add_new(NewLine {
            id,
            order_id: self.id,
            sku: sku.into(),
            quantity,
        });
        id
    }

    /// Changes a stored line: the order's next write appends its event.
    pub fn set_quantity(&mut self, line: LineId, quantity: u32) -> bool {
        match self.lines.get_persisted_mut(&line) {
            Some(l) => {
                l.set_quantity(quantity);
                true
            }
            None => false,
        }
    }

    pub fn change_customer(&mut self, customer: impl Into<String>) {
        let customer = customer.into();
        self.customer = customer.clone();
        self.events.push(OrderEvent::CustomerChanged { customer });
    }

    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        self.lines.iter_persisted()
    }

    pub fn line_count(&self) -> usize {
        self.lines.len_persisted()
    }
}

impl TryFromEvents<OrderEvent> for Order {
    fn try_from_events(events: EntityEvents<OrderEvent>) -> Result<Self, EntityHydrationError> {
        let mut customer = None;
        for event in events.iter_all() {
            match event {
                OrderEvent::Opened { customer: c }
                | OrderEvent::CustomerChanged { customer: c } => customer = Some(c.clone()),
            }
        }
        Ok(Order {
            id: *events.id(),
            customer: customer.ok_or_else(|| events.missing_field("customer"))?,
            // The repository fills it when it loads the order.
            lines: Nested::default(),
            events,
        })
    }
}

pub struct NewOrder {
    pub id: OrderId,
    pub customer: String,
}

impl IntoEvents<OrderEvent> for NewOrder {
    fn into_events(self) -> EntityEvents<OrderEvent> {
        EntityEvents::init(
            self.id,
            [OrderEvent::Opened {
                customer: self.customer,
            }],
        )
    }
}

/// The parent repository: the `lines` field is the child repository. The
/// child's tables default to `lines` / `line_events` (from the field) and
/// its parent key to `order_id` (from the entity); all three are checked
/// against `Lines` at compile time.
#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Order",
    delete = "soft",
    columns(customer(ty = "String", list_for))
)]
pub struct Orders {
    pool: sqlx::PgPool,
    #[es_repo(nested)]
    lines: Lines,
}

impl Orders {
    pub fn new(pool: &sqlx::PgPool) -> Self {
        Self {
            pool: pool.clone(),
            lines: Lines { pool: pool.clone() },
        }
    }

    /// The child repository, for another parent repository of orders.
    pub fn into_lines(self) -> Lines {
        self.lines
    }
}
// ANCHOR_END: parent

/// Two writers, one per input, each loading and changing its own copy: `write`
/// waits on the barrier between its load and its write, so both load
/// before either writes. Exactly one must win; returns the loser's error.
pub(crate) async fn one_of_two_wins<I, F, Fut, E>(inputs: [I; 2], write: F) -> E
where
    F: Fn(I, Arc<Barrier>) -> Fut,
    Fut: std::future::Future<Output = Result<usize, E>> + Send + 'static,
    E: std::fmt::Debug + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(2));
    let tasks: Vec<_> = inputs
        .into_iter()
        .map(|i| tokio::spawn(write(i, barrier.clone())))
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let (won, lost): (Vec<_>, Vec<_>) = results.into_iter().partition(|r| r.is_ok());
    assert_eq!((won.len(), lost.len()), (1, 1), "{lost:?}");
    lost.into_iter().next().unwrap().unwrap_err()
}

/// A stored order with no lines, for a customer of its own.
async fn new_order(orders: &Orders) -> Order {
    orders
        .create(NewOrder {
            id: OrderId::new(),
            customer: customer(),
        })
        .await
        .unwrap()
}

fn customer() -> String {
    format!("customer-{}", OrderId::new())
}

async fn stored_line_rows(pool: &sqlx::PgPool, order: OrderId) -> (i64, i64) {
    sqlx::query_as(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE deleted) FROM lines WHERE order_id = $1",
    )
    .bind(uuid::Uuid::from(order))
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_order_and_its_lines_round_trip() -> Result<(), Box<dyn std::error::Error>> {
    let pool = es_entity_tests::pool().await;
    let orders = Orders::new(&pool);
    // ANCHOR: round_trip
    let mut order = orders
        .create(NewOrder {
            id: OrderId::new(),
            customer: customer(),
        })
        .await?;
    let apple = order.add_line("apple", 3);
    order.add_line("pear", 1);
    // Two new lines, one event each; the order itself has nothing new.
    assert_eq!(orders.update(&mut order).await?, 2);
    assert_eq!(order.line_count(), 2);

    // One statement loads the order, its lines and all their events.
    let mut loaded = orders.find_by_id(order.id).await?;
    assert_eq!(loaded.line_count(), 2);
    assert_eq!(loaded.lines().map(|l| l.quantity).sum::<u32>(), 4);

    assert!(loaded.set_quantity(apple, 5));
    loaded.add_line("plum", 2);
    let renamed = customer();
    loaded.change_customer(renamed.clone());
    // The order's event, the apple's and the plum's.
    assert_eq!(orders.update(&mut loaded).await?, 3);
    // ANCHOR_END: round_trip

    let reloaded = orders.find_by_id(order.id).await?;
    assert_eq!(reloaded.customer, renamed);
    let mut lines: Vec<_> = reloaded
        .lines()
        .map(|l| (l.sku.as_str(), l.quantity, l.events().len_persisted()))
        .collect();
    lines.sort();
    assert_eq!(lines, [("apple", 5, 2), ("pear", 1, 1), ("plum", 2, 1)]);
    assert!(reloaded.lines().all(|l| l.order_id == order.id));
    assert_eq!(
        reloaded.events().len_persisted(),
        2,
        "the order's own events"
    );
    // Nothing new anywhere: no statement, nothing written.
    let mut same = reloaded;
    assert_eq!(orders.update(&mut same).await?, 0);

    // The child repository works on its own too.
    let line = orders.lines.find_by_id(apple).await?;
    assert_eq!(line.quantity, 5);
    Ok(())
}

#[tokio::test]
async fn find_all_and_find_by_load_each_parent_with_its_own_lines() {
    let pool = es_entity_tests::pool().await;
    let orders = Orders::new(&pool);
    let name = customer();
    let mut a = orders
        .create(NewOrder {
            id: OrderId::new(),
            customer: name.clone(),
        })
        .await
        .unwrap();
    let mut b = new_order(&orders).await;
    let empty = new_order(&orders).await;
    for i in 0..3 {
        a.add_line(format!("a{i}"), i);
    }
    b.add_line("b0", 7);
    let mut both = [a, b];
    // One batch: the lines of both orders in one create_all.
    assert_eq!(orders.update_all(&mut both).await.unwrap(), 4);
    let [a, b] = both;

    let found: std::collections::HashMap<OrderId, Order> = orders
        .find_all(&[a.id, b.id, empty.id, OrderId::new()])
        .await
        .unwrap();
    assert_eq!(found.len(), 3);
    let skus = |o: &Order| {
        let mut s: Vec<String> = o.lines().map(|l| l.sku.clone()).collect();
        s.sort();
        s
    };
    assert_eq!(skus(&found[&a.id]), ["a0", "a1", "a2"]);
    assert_eq!(skus(&found[&b.id]), ["b0"]);
    assert_eq!(found[&empty.id].line_count(), 0);

    let by_name = orders.find_by_customer(&name).await.unwrap();
    assert_eq!(by_name.id, a.id);
    assert_eq!(skus(&by_name), ["a0", "a1", "a2"]);
    assert!(
        orders
            .maybe_find_by_id(OrderId::new())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn writes_are_batched_and_reads_are_one_statement() {
    counting(|pool, counter| async move {
        let orders = Orders::new(&pool);
        orders.check_column_types().await.unwrap();
        orders.lines.check_column_types().await.unwrap();
        // Warm the repositories' constraint catalogs (read once per process).
        let mut warm = new_order(&orders).await;
        warm.add_line("warm", 1);
        orders.update(&mut warm).await.unwrap();
        let warm_line = warm.lines().next().unwrap().id;
        warm.set_quantity(warm_line, 2);
        orders.update(&mut warm).await.unwrap();
        counter.take();

        // ANCHOR: cost
        let mut order = orders
            .create(NewOrder {
                id: OrderId::new(),
                customer: customer(),
            })
            .await
            .unwrap();
        // The order's statement and COMMIT (sqlx does not log BEGIN, one
        // more round trip).
        assert_eq!(counter.take().len(), 2, "create");

        order.add_line("one", 1);
        orders.update(&mut order).await.unwrap();
        // The lines' create_all and COMMIT.
        assert_eq!(counter.take().len(), 2, "update adding 1 line");

        for i in 0..50 {
            order.add_line(format!("sku-{i}"), i);
        }
        assert_eq!(orders.update(&mut order).await.unwrap(), 50);
        assert_eq!(counter.take().len(), 2, "update adding 50 lines");

        let ids: Vec<LineId> = order.lines().map(|l| l.id).collect();
        for id in &ids {
            order.set_quantity(*id, 9);
        }
        order.change_customer("changed");
        order.add_line("extra", 1);
        assert_eq!(orders.update(&mut order).await.unwrap(), 1 + 51 + 1);
        // The order's statement, the lines' update_all, their create_all,
        // COMMIT.
        assert_eq!(
            counter.take().len(),
            4,
            "update of order + 51 lines + 1 new"
        );

        order.change_customer("only the order");
        orders.update(&mut order).await.unwrap();
        // No line changed: the plain one-statement update, no transaction.
        assert_eq!(counter.take().len(), 1, "update of the order alone");

        let loaded = orders.find_by_id(order.id).await.unwrap();
        assert_eq!(loaded.line_count(), 52);
        assert_eq!(counter.take().len(), 1, "find_by_id of the tree");
        // ANCHOR_END: cost
        assert!(
            loaded
                .lines()
                .filter(|l| l.sku != "extra")
                .all(|l| l.quantity == 9)
        );

        let mut many = Vec::new();
        for _ in 0..3 {
            many.push(new_order(&orders).await);
        }
        counter.take();
        for o in many.iter_mut() {
            for i in 0..10 {
                o.add_line(format!("m{i}"), i);
            }
        }
        assert_eq!(orders.update_all(&mut many).await.unwrap(), 30);
        // The lines' create_all and COMMIT.
        assert_eq!(
            counter.take().len(),
            2,
            "update_all adding 30 lines to 3 orders"
        );

        let ids: Vec<OrderId> = many.iter().map(|o| o.id).collect();
        let found: std::collections::HashMap<OrderId, Order> = orders.find_all(&ids).await.unwrap();
        assert_eq!(counter.take().len(), 1, "find_all of 3 trees");
        assert!(found.values().all(|o| o.line_count() == 10));
    })
    .await;
}

#[tokio::test]
async fn listings_load_each_page_with_its_lines_in_one_statement() {
    counting(|pool, counter| async move {
        let orders = Orders::new(&pool);
        let name = customer();
        let mut created = Vec::new();
        for n in 1..=3 {
            let mut o = orders
                .create(NewOrder {
                    id: OrderId::new(),
                    customer: name.clone(),
                })
                .await
                .unwrap();
            for i in 0..n {
                o.add_line(format!("l{i}"), n);
            }
            orders.update(&mut o).await.unwrap();
            created.push(o.id);
        }
        counter.take();
        // ANCHOR: listing
        let page = orders
            .list_for_customer_by_created_at(
                &name,
                PaginatedQueryArgs {
                    first: 2,
                    after: None,
                },
                ListDirection::Ascending,
            )
            .await
            .unwrap();
        assert_eq!(counter.take().len(), 1, "a page of trees is one statement");
        let shape: Vec<(OrderId, usize)> = page
            .entities
            .iter()
            .map(|o| (o.id, o.line_count()))
            .collect();
        assert_eq!(shape, [(created[0], 1), (created[1], 2)]);
        // ANCHOR_END: listing
        assert!(page.has_next_page);
        assert!(
            page.entities
                .iter()
                .all(|o| o.lines().all(|l| l.order_id == o.id))
        );
        let next = orders
            .list_for_customer_by_created_at(
                &name,
                PaginatedQueryArgs {
                    first: 2,
                    after: page.end_cursor,
                },
                ListDirection::Ascending,
            )
            .await
            .unwrap();
        let shape: Vec<(OrderId, usize)> = next
            .entities
            .iter()
            .map(|o| (o.id, o.line_count()))
            .collect();
        assert_eq!(shape, [(created[2], 3)]);
        assert!(!next.has_next_page);
        let back = orders
            .list_for_customer_by_created_at(
                &name,
                PaginatedQueryArgs {
                    first: 5,
                    after: None,
                },
                ListDirection::Descending,
            )
            .await
            .unwrap();
        let counts: Vec<usize> = back.entities.iter().map(|o| o.line_count()).collect();
        assert_eq!(counts, [3, 2, 1]);
    })
    .await;
}

#[tokio::test]
async fn a_duplicate_line_is_the_orders_typed_error_and_nothing_is_stored() {
    let pool = es_entity_tests::pool().await;
    let orders = Orders::new(&pool);
    let mut order = new_order(&orders).await;
    order.add_line("apple", 1);
    orders.update(&mut order).await.unwrap();

    // ANCHOR: duplicate
    let mut order = orders.find_by_id(order.id).await.unwrap();
    order.change_customer("someone else");
    order.add_line("apple", 2); // the sku is unique within its order
    let err = orders.update(&mut order).await.unwrap_err();
    assert!(err.was_duplicate());
    assert_eq!(err.constraint_name(), Some("lines_order_sku_key"));
    let nested: &NestedError = err.nested_error().unwrap();
    assert_eq!(
        (nested.field, nested.entity, nested.operation),
        ("lines", "Line", "create")
    );
    // ANCHOR_END: duplicate
    assert!(!err.is_concurrent_modification());
    assert!(err.to_string().contains("nested `lines` (Line)"), "{err}");

    // The order's own statement ran in the same transaction: rolled back.
    let stored = orders.find_by_id(order.id).await.unwrap();
    assert_ne!(stored.customer, "someone else");
    assert_eq!(stored.events().len_persisted(), 1);
    assert_eq!(stored.line_count(), 1);
    assert_eq!(stored_line_rows(&pool, order.id).await, (1, 0));
}

#[tokio::test]
async fn two_writers_of_one_line_the_loser_sees_the_conflict_through_the_order() {
    let pool = es_entity_tests::pool_with_size(4).await;
    let orders = Arc::new(Orders::new(&pool));
    let mut order = new_order(&orders).await;
    let line = order.add_line("apple", 1);
    orders.update(&mut order).await.unwrap();

    let err = one_of_two_wins([10, 20], |quantity, barrier| {
        let orders = orders.clone();
        let id = order.id;
        async move {
            let mut copy = orders.find_by_id(id).await.unwrap();
            assert!(copy.set_quantity(line, quantity));
            barrier.wait().await;
            orders.update(&mut copy).await
        }
    })
    .await;
    // ANCHOR: conflict
    assert!(err.is_concurrent_modification());
    let nested = err.nested_error().unwrap();
    assert_eq!((nested.field, nested.entity), ("lines", "Line"));
    assert_eq!(nested.conflict, Some(line.to_string()));
    // Retry helpers see the child's conflict too.
    let conflict = err.concurrent_modification().unwrap();
    assert_eq!((conflict.entity, conflict.expected_version), ("Line", 1));
    // ANCHOR_END: conflict

    let stored = orders.lines.find_by_id(line).await.unwrap();
    assert_eq!(stored.events().len_persisted(), 2, "one write landed");
    assert!([10, 20].contains(&stored.quantity));
}

#[tokio::test]
async fn soft_delete_cascades_to_the_lines() {
    let pool = es_entity_tests::pool().await;
    let orders = Orders::new(&pool);
    let mut order = new_order(&orders).await;
    let line = order.add_line("apple", 1);
    order.add_line("pear", 1);
    orders.update(&mut order).await.unwrap();
    let id = order.id;

    // ANCHOR: delete
    orders.delete(order).await.unwrap();
    assert!(orders.maybe_find_by_id(id).await.unwrap().is_none());
    assert!(orders.lines.maybe_find_by_id(line).await.unwrap().is_none());
    // The `_include_deleted` reads see the order and its deleted lines.
    let deleted = orders.find_by_id_include_deleted(id).await.unwrap();
    assert_eq!(deleted.line_count(), 2);
    // ANCHOR_END: delete
    assert_eq!(stored_line_rows(&pool, id).await, (2, 2));
    let found: std::collections::HashMap<OrderId, Order> =
        orders.find_all_include_deleted(&[id]).await.unwrap();
    assert_eq!(found[&id].line_count(), 2);
    let none: std::collections::HashMap<OrderId, Order> = orders.find_all(&[id]).await.unwrap();
    assert!(none.is_empty());
    assert_eq!(
        orders
            .lines
            .find_by_id_include_deleted(line)
            .await
            .unwrap()
            .sku,
        "apple"
    );
}

#[tokio::test]
async fn the_nested_api_keeps_new_and_stored_children_apart() {
    let pool = es_entity_tests::pool().await;
    let orders = Orders::new(&pool);
    let mut order = new_order(&orders).await;
    let a = order.add_line("a", 1);
    order.add_line("b", 2);
    assert_eq!((order.lines.len_new(), order.lines.len_persisted()), (2, 0));
    assert!(order.lines.any_new());
    assert!(order.lines.get_persisted(&a).is_none());
    order.lines.new_entities_mut().retain(|n| n.sku == "a");
    orders.update(&mut order).await.unwrap();
    assert_eq!((order.lines.len_new(), order.lines.len_persisted()), (0, 1));
    assert!(!order.lines.any_new());
    assert_eq!(order.lines.get_persisted(&a).unwrap().sku, "a");
    assert_eq!(
        order.lines.find_persisted(|l| l.quantity == 1).unwrap().id,
        a
    );
    order
        .lines
        .find_persisted_mut(|l| l.id == a)
        .unwrap()
        .set_quantity(4);
    assert!(order.lines.any_new());
    for l in order.lines.iter_persisted_mut() {
        l.set_quantity(l.quantity + 1);
    }
    assert_eq!(orders.update(&mut order).await.unwrap(), 2);
    assert_eq!(order.lines.get_persisted(&a).unwrap().quantity, 5);
    let stored = orders.find_by_id(order.id).await.unwrap();
    assert_eq!(stored.lines.get_persisted(&a).unwrap().quantity, 5);
}

/// The version-aware writes of a parent write its children too: the
/// expectation is about the parent's stream, the children are written as
/// `update` writes them, all in one transaction.
#[tokio::test]
async fn expecting_and_unchecked_writes_write_the_children_too() {
    let pool = es_entity_tests::pool().await;
    let orders = Orders::new(&pool);
    let mut order = new_order(&orders).await;

    // ANCHOR: expecting
    // Only a new line: the order's expectation is compared with the
    // version it was loaded at; the line is written.
    order.add_line("apple", 1);
    let written = orders
        .update_expecting(&mut order, ExpectedVersion::Exact(1))
        .await
        .unwrap();
    assert_eq!(written, 1);
    // A wrong expectation writes nothing, children included.
    order.add_line("pear", 1);
    order.change_customer("expecting");
    let err = orders
        .update_expecting(&mut order, ExpectedVersion::Exact(5))
        .await
        .unwrap_err();
    assert!(err.is_concurrent_modification());
    // ANCHOR_END: expecting
    let stored = orders.find_by_id(order.id).await.unwrap();
    assert_eq!(
        (stored.line_count(), stored.events().len_persisted()),
        (1, 1)
    );
    assert_eq!(order.lines.len_new(), 1, "the staged line is still staged");
    assert_eq!(
        orders
            .update_expecting(&mut order, ExpectedVersion::Exact(1))
            .await
            .unwrap(),
        2
    );
    let stored = orders.find_by_id(order.id).await.unwrap();
    assert_eq!(
        (stored.line_count(), stored.customer.as_str()),
        (2, "expecting")
    );

    // Unchecked: another writer changed the order meanwhile; this writer's
    // event goes after it, the order is rebuilt with it, and keeps its lines.
    let mut other = orders.find_by_id(order.id).await.unwrap();
    other.change_customer("other writer");
    orders.update(&mut other).await.unwrap();
    let apple = order.lines().find(|l| l.sku == "apple").unwrap().id;
    order.set_quantity(apple, 7);
    order.add_line("plum", 3);
    order.change_customer("unchecked");
    let done = orders.update_unchecked(&mut order).await.unwrap();
    assert_eq!((done.written, done.missed), (3, 1));
    assert_eq!(order.line_count(), 3, "the rebuilt order keeps its lines");
    assert_eq!(order.events().len_persisted(), 4);
    let stored = orders.find_by_id(order.id).await.unwrap();
    assert_eq!(stored.customer, "unchecked");
    assert_eq!(stored.lines.get_persisted(&apple).unwrap().quantity, 7);
    assert_eq!(stored.line_count(), 3);

    // A refresh with no child changes keeps the loaded lines in memory too.
    let mut other = orders.find_by_id(order.id).await.unwrap();
    other.change_customer("again");
    orders.update(&mut other).await.unwrap();
    order.change_customer("last");
    let done = orders.update_unchecked(&mut order).await.unwrap();
    assert_eq!((done.written, done.missed), (1, 1));
    assert_eq!(order.line_count(), 3);
}

#[tokio::test]
async fn batch_expecting_and_unchecked_writes_write_the_children_too() {
    let pool = es_entity_tests::pool().await;
    let orders = Orders::new(&pool);
    let mut many = Vec::new();
    for _ in 0..3 {
        many.push(new_order(&orders).await);
    }
    for (i, o) in many.iter_mut().enumerate() {
        o.add_line(format!("x{i}"), 1);
    }
    many[0].change_customer("first");
    assert_eq!(
        orders
            .update_all_expecting(&mut many, |o| o.events().len_persisted())
            .await
            .unwrap(),
        4
    );
    for o in many.iter_mut() {
        o.add_line("y", 2);
    }
    let done = orders.update_all_unchecked(&mut many).await.unwrap();
    assert_eq!((done.written, done.missed), (3, 0));
    let ids: Vec<OrderId> = many.iter().map(|o| o.id).collect();
    let found: std::collections::HashMap<OrderId, Order> = orders.find_all(&ids).await.unwrap();
    assert!(found.values().all(|o| o.line_count() == 2));
    assert_eq!(found[&many[0].id].customer, "first");

    // A child's conflict inside an unchecked write is the parent's typed
    // error: the child's own version is checked.
    let id = many[1].id;
    let line = many[1].lines().next().unwrap().id;
    let mut a = orders.find_by_id(id).await.unwrap();
    let mut b = orders.find_by_id(id).await.unwrap();
    a.set_quantity(line, 5);
    orders.update(&mut a).await.unwrap();
    b.set_quantity(line, 6);
    let err = orders.update_unchecked(&mut b).await.unwrap_err();
    let nested = err.nested_error().unwrap();
    assert_eq!(nested.conflict, Some(line.to_string()));
    assert!(err.to_string().contains("nested `lines` (Line)"), "{err}");
}
