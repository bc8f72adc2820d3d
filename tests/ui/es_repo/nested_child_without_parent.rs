// A nested field's repository must be a nested child repository: one
// with a `parent` column. (The statements are the suite's, so the offline
// cache has them.)
use es_entity::prelude::*;
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

/// No `parent` column: `Lines` cannot be nested.
#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Line",
    delete = "soft",
    columns(order_id(ty = "OrderId"), sku = "String")
)]
pub struct Lines {
    pool: sqlx::PgPool,
}

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
                OrderEvent::Opened { customer: c } | OrderEvent::CustomerChanged { customer: c } => {
                    customer = Some(c.clone())
                }
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
}

fn main() {}
