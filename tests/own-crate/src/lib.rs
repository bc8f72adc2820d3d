//! Every `#[es_repo]` option in one library, built (not run) by
//! `.ci/own-crate` under `#![deny(warnings, missing_docs)]`: the derives'
//! public items must come documented and warning-free in a user's crate.
//! The binary (`main.rs`) is the quickstart; this library only has to build.
//! Its tables are in `migrations/20261129000000_every_option.sql`.

#![deny(warnings, missing_docs)]

use es_entity::prelude::*;

es_entity::entity_id! {
    /// An order's id.
    OrderId,
    ParcelId,
}

/// What happens to an order.
#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "OrderId")]
pub enum OrderEvent {
    /// The order was placed.
    Placed {
        /// The order.
        id: OrderId,
        /// Who placed it.
        customer: String,
        /// Its reference, unique among orders.
        reference: String,
        /// A note, if any.
        note: Option<String>,
    },
    /// Its total changed.
    TotalChanged {
        /// The new total, in cents.
        total: i64,
    },
    /// It was deleted.
    Deleted,
}

/// An order: every kind of column of [`Orders`] reads from it.
#[derive(EsEntity, Debug)]
#[es_entity(new = "NewOrder", event = "OrderEvent")]
pub struct Order {
    /// The order's id.
    pub id: OrderId,
    /// Who placed it.
    pub customer: String,
    /// A note, if any.
    pub note: Option<String>,
    reference: String,
    total: i64,
    #[es_entity(events)]
    history: EntityEvents<OrderEvent>,
}

impl Order {
    /// Its reference, unique among orders.
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The reference as the index table stores it (an update accessor).
    fn stored_reference(&self) -> String {
        self.reference.clone()
    }

    /// Its total, in cents.
    pub fn total(&self) -> i64 {
        self.total
    }

    /// Sets the total.
    pub fn change_total(&mut self, total: i64) -> Idempotent<()> {
        idempotency_guard!(
            self.history.iter_all().rev(),
            already_applied: OrderEvent::TotalChanged { total: t } if *t == total,
            resets_on: OrderEvent::TotalChanged { .. }
        );
        self.total = total;
        self.history.push(OrderEvent::TotalChanged { total });
        Idempotent::Executed(())
    }

    /// Records the deletion ([`Orders::delete`] stores it).
    pub fn delete(&mut self) {
        self.history.push(OrderEvent::Deleted);
    }
}

impl TryFromEvents<OrderEvent> for Order {
    fn try_from_events(history: EntityEvents<OrderEvent>) -> Result<Self, EntityHydrationError> {
        let mut placed = None;
        let mut total = 0;
        for event in history.iter_all() {
            match event {
                OrderEvent::Placed {
                    customer,
                    reference,
                    note,
                    ..
                } => placed = Some((customer.clone(), reference.clone(), note.clone())),
                OrderEvent::TotalChanged { total: t } => total = *t,
                OrderEvent::Deleted => {}
            }
        }
        let (customer, reference, note) = placed.ok_or_else(|| history.missing_field("placed"))?;
        Ok(Order {
            id: *history.id(),
            customer,
            note,
            reference,
            total,
            history,
        })
    }
}

/// An order to place.
pub struct NewOrder {
    /// Its id.
    pub id: OrderId,
    /// Who places it.
    pub customer: String,
    /// Its reference (stored upper-case).
    pub reference: String,
    /// A note, if any.
    pub note: Option<String>,
}

impl NewOrder {
    /// The reference as stored.
    pub fn reference_code(&self) -> String {
        self.reference.to_uppercase()
    }
}

impl IntoEvents<OrderEvent> for NewOrder {
    fn into_events(self) -> EntityEvents<OrderEvent> {
        let reference = self.reference_code();
        EntityEvents::init(
            self.id,
            [OrderEvent::Placed {
                id: self.id,
                customer: self.customer,
                reference,
                note: self.note,
            }],
        )
    }
}

/// Orders, with every repository option: explicit id and event types, a
/// table prefix, soft deletion, the feed, a post-persist hook, and columns
/// with `find_by = false`, accessors, `persist = false`, `list_by`,
/// `list_for` (bare and `by(..)`) and `unique`.
#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Order",
    id = "OrderId",
    event = "OrderEvent",
    tbl_prefix = "shop",
    delete = "soft",
    feed,
    post_persist_hook = "count_write",
    columns(
        customer(ty = "String", find_by = false, list_for(by(created_at, reference))),
        reference(
            ty = "String",
            unique,
            list_by,
            create(accessor = "reference_code()"),
            update(accessor = "stored_reference()")
        ),
        note(ty = "Option<String>", list_for, update(persist = false)),
        total(
            ty = "i64",
            list_by,
            create(persist = false),
            update(accessor = "total()")
        ),
    )
)]
pub struct Orders {
    pool: sqlx::PgPool,
}

impl Orders {
    /// A repository on `pool`.
    pub fn new(pool: sqlx::PgPool) -> Self {
        Self { pool }
    }

    /// The post-persist hook: counts the written events in the write's transaction.
    async fn count_write(
        &self,
        op: &mut impl AtomicOperation,
        order: &Order,
        new_events: LastPersisted<'_, OrderEvent>,
    ) -> Result<(), sqlx::Error> {
        let written = new_events.as_slice().len() as i64;
        sqlx::query!(
            "UPDATE shop_orders SET writes = writes + $2 WHERE id = $1",
            uuid::Uuid::from(order.id),
            written
        )
        .execute(op.as_executor())
        .await
        .map(drop)
    }

    /// Orders whose note contains `word`: at most `first`, and whether there are more.
    pub async fn with_note_containing(
        &self,
        word: &str,
        first: usize,
    ) -> Result<(Vec<Order>, bool), OrderQueryError> {
        es_query!(
            tbl_prefix = "shop",
            "SELECT id FROM shop_orders WHERE note LIKE '%' || $1 || '%' AND deleted = FALSE ORDER BY id LIMIT $2",
            word,
            (first + 1) as i64,
        )
        .fetch_n(&self.pool, first)
        .await
    }
}

/// What happens to a parcel.
#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "ParcelId")]
pub enum ParcelEvent {
    /// The parcel was packed for an order.
    Packed {
        /// The parcel.
        id: ParcelId,
        /// The order it ships.
        order_id: OrderId,
        /// Its label.
        label: String,
    },
}

/// A parcel of an order.
#[derive(EsEntity, Debug)]
pub struct Parcel {
    /// The parcel's id.
    pub id: ParcelId,
    /// The order it ships.
    pub order_id: OrderId,
    /// Its label.
    pub label: String,
    events: EntityEvents<ParcelEvent>,
}

impl TryFromEvents<ParcelEvent> for Parcel {
    fn try_from_events(events: EntityEvents<ParcelEvent>) -> Result<Self, EntityHydrationError> {
        let (order_id, label) = events
            .iter_all()
            .map(
                |ParcelEvent::Packed {
                     order_id, label, ..
                 }| (*order_id, label.clone()),
            )
            .next()
            .ok_or_else(|| events.missing_field("order_id"))?;
        Ok(Parcel {
            id: *events.id(),
            order_id,
            label,
            events,
        })
    }
}

/// A parcel to pack.
pub struct NewParcel {
    /// Its id.
    pub id: ParcelId,
    /// The order it ships.
    pub order_id: OrderId,
    /// Its label.
    pub label: String,
}

impl IntoEvents<ParcelEvent> for NewParcel {
    fn into_events(self) -> EntityEvents<ParcelEvent> {
        EntityEvents::init(
            self.id,
            [ParcelEvent::Packed {
                id: self.id,
                order_id: self.order_id,
                label: self.label,
            }],
        )
    }
}

/// Parcels: only the `_in_op` variants (`in_op_only`), named tables, and
/// a pool field of another name marked `#[es_repo(pool)]`.
#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Parcel",
    tbl = "parcel_index",
    events_tbl = "parcel_log",
    in_op_only,
    columns(order_id(ty = "OrderId", list_for), label = "String")
)]
pub struct Parcels {
    #[es_repo(pool)]
    db: sqlx::PgPool,
}

impl Parcels {
    /// A repository on `db`.
    pub fn new(db: sqlx::PgPool) -> Self {
        Self { db }
    }
}
