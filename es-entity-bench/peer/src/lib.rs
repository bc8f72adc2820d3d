//! The peer: the same `Account` entity and repository written against the
//! newest published es-entity (crates.io), compiled here because its
//! generated code names `::es_entity`, which in this crate is that release.
//! The benchmark binary drives it through `src/peer.rs`.
//!
//! Adaptations to the release's API (the workload stays the same):
//! - `TryFromEvents` builds the entity through the generated `AccountHydrator`;
//! - `IntoEvents` receives an `EntityEventsBuilder`; ids come from the caller
//!   (`id(source = caller)`), as in the other two implementations;
//! - write errors are `errlanes` lanes: a lost optimistic-concurrency race is
//!   `Fail::Transient` with `TransientKind::OptimisticConflict`;
//! - pages are read through `entities()`, `end_cursor()`, `into_next_query()`.

pub use es_entity;

pub mod deep;

use es_entity::*;
use serde::{Deserialize, Serialize};

es_entity::entity_id! { AccountId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "AccountId")]
pub enum AccountEvent {
    Initialized { id: AccountId, name: String },
    Deposited { amount: i64 },
    NameChanged { name: String },
}

#[derive(EsEntity)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub balance: i64,
    events: EntityEvents<AccountEvent>,
}

impl Account {
    pub fn deposit(&mut self, amount: i64) {
        self.balance += amount;
        self.events.push(AccountEvent::Deposited { amount });
    }

    pub fn rename(&mut self, name: String) {
        self.name.clone_from(&name);
        self.events.push(AccountEvent::NameChanged { name });
    }

    pub fn persisted_events(&self) -> usize {
        self.events.len_persisted()
    }
}

impl TryFromEvents<AccountEvent> for Account {
    fn try_from_events(events: EntityEvents<AccountEvent>) -> Result<Self, EntityHydrationError> {
        let mut hydrator = Account::hydrator();
        let mut balance = 0;
        for event in events.iter_all() {
            match event {
                AccountEvent::Initialized { id, name } => {
                    hydrator.id(*id).name(name.clone());
                }
                AccountEvent::Deposited { amount } => balance += amount,
                AccountEvent::NameChanged { name } => {
                    hydrator.name(name.clone());
                }
            }
        }
        hydrator.balance(balance);
        hydrator.build(events)
    }
}

pub struct NewAccount {
    pub id: AccountId,
    pub name: String,
}

impl IntoEvents<AccountEvent> for NewAccount {
    type IdSource = FromCaller;

    fn into_events(
        self,
        builder: EntityEventsBuilder<AccountEvent, FromCaller>,
    ) -> EntityEvents<AccountEvent> {
        builder.initial_events(
            self.id,
            [AccountEvent::Initialized {
                id: self.id,
                name: self.name,
            }],
        )
    }
}

#[derive(EsRepo)]
#[es_repo(
    entity = "Account",
    tbl = "bench_peer_accounts",
    events_tbl = "bench_peer_account_events",
    id(source = caller),
    columns(name(ty = "String", list_by))
)]
pub struct Accounts {
    pool: sqlx::PgPool,
}

impl Accounts {
    pub fn new(pool: sqlx::PgPool) -> Self {
        Self { pool }
    }
}

/// A repository on its own pool (sqlx 0.8, the release's sqlx), configured
/// like the other two implementations' pools: no TLS (the server offers it,
/// and this sqlx is built with rustls; the others have no TLS at all), no
/// statement logging, `max_connections` connections.
pub async fn connect(url: &str, max_connections: u32) -> Result<Accounts, sqlx::Error> {
    Ok(Accounts::new(pool(url, max_connections, false).await?))
}

/// The pool behind [`connect`]; with `log`, every statement is reported as a
/// `sqlx::query` tracing event (for the bench's statement counts).
pub async fn pool(url: &str, max_connections: u32, log: bool) -> Result<sqlx::PgPool, sqlx::Error> {
    use sqlx::ConnectOptions;
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
    let options: PgConnectOptions = url.parse()?;
    let mut options = options
        .ssl_mode(PgSslMode::Disable)
        .disable_statement_logging();
    if log {
        // Every statement at one level, as the bench's own counting pools.
        options = options
            .log_statements(log::LevelFilter::Info)
            .log_slow_statements(log::LevelFilter::Info, std::time::Duration::from_secs(3600));
    }
    PgPoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options)
        .await
}

/// The release compiled here (Cargo.toml pins it with `=`).
pub const PEER_VERSION: &str = "0.20.3";
