//! The older peer: the same `Account` entity and repository written against
//! es-entity 0.12.10 (crates.io), compiled here because its generated code
//! names `::es_entity`, which in this crate is that release. The benchmark
//! binary drives it through `src/peer012.rs`.
//!
//! Adaptations to the release's API (the workload stays the same as the
//! other peer's, `peer/src/lib.rs`):
//! - `TryFromEvents` builds the entity by hand (the release generates no
//!   hydrator);
//! - `IntoEvents` returns `EntityEvents::init(..)` itself; ids always come
//!   from the caller in this release (there is no `id(source = ..)`);
//! - write errors are the generated `AccountModifyError`: a lost
//!   optimistic-concurrency race is `ConcurrentModification`;
//! - pages are the plain `PaginatedQueryRet { entities, has_next_page,
//!   end_cursor }`, continued through `into_next_query()`.
//!
//! The derive reads the bench's migrations (`migrations_dir`) for its index
//! catalog, the tables being `bench_peer012_*`.

pub use es_entity;

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
        let mut name = None;
        let mut balance = 0;
        for event in events.iter_all() {
            match event {
                AccountEvent::Initialized { name: n, .. }
                | AccountEvent::NameChanged { name: n } => {
                    name = Some(n.clone());
                }
                AccountEvent::Deposited { amount } => balance += amount,
            }
        }
        let Some(name) = name else {
            return Err(EntityHydrationError::UninitializedFieldError(
                derive_builder::UninitializedFieldError::new("name"),
            ));
        };
        Ok(Account {
            id: *events.id(),
            name,
            balance,
            events,
        })
    }
}

pub struct NewAccount {
    pub id: AccountId,
    pub name: String,
}

impl IntoEvents<AccountEvent> for NewAccount {
    fn into_events(self) -> EntityEvents<AccountEvent> {
        EntityEvents::init(
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
    tbl = "bench_peer012_accounts",
    events_tbl = "bench_peer012_account_events",
    migrations_dir = "../migrations",
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
/// like the other implementations' pools: no TLS (the server offers it, and
/// this sqlx is built with rustls; ours and the floor's have no TLS at all),
/// no statement logging, `max_connections` connections.
pub async fn connect(url: &str, max_connections: u32) -> Result<Accounts, sqlx::Error> {
    use sqlx::ConnectOptions;
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
    let options: PgConnectOptions = url.parse()?;
    let options = options
        .ssl_mode(PgSslMode::Disable)
        .disable_statement_logging();
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options)
        .await?;
    Ok(Accounts::new(pool))
}

/// The release compiled here (Cargo.toml pins it with `=`).
pub const PEER_VERSION: &str = "0.12.10";
