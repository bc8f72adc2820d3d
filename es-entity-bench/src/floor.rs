//! The floor: the same work written by hand with sqlx 0.9 and no framework.
//!
//! Single-entity operations run the very statements ours generates (same
//! text on its own tables, minus ours' optional operation-time parameter:
//! the floor writes `NOW()`), bind the same arrays and read the same columns,
//! so ours/floor is the cost of the framework on the client side. Events are
//! decoded straight from the row into `AccountEvent` (`Json<AccountEvent>`)
//! and folded; the floor keeps only the state and the number of stored
//! events, not the history. The bulk writes are one statement each with
//! UNNESTed arrays, as ours' are.

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use crate::subject::{Res, Subject, Write};

/// The unique key whose violation means another writer took the sequence.
const SEQUENCE_KEY: &str = "bench_floor_account_events_id_sequence_key";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AccountEvent {
    Initialized { id: Uuid, name: String },
    Deposited { amount: i64 },
    NameChanged { name: String },
}

impl AccountEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Initialized { .. } => "initialized",
            Self::Deposited { .. } => "deposited",
            Self::NameChanged { .. } => "name_changed",
        }
    }
}

#[derive(Debug)]
pub struct Account {
    pub id: Uuid,
    pub name: String,
    pub balance: i64,
    /// Events stored so far: the next event's sequence is `version + 1`.
    version: i32,
    new: Vec<AccountEvent>,
}

impl Account {
    fn empty(id: Uuid) -> Self {
        Self {
            id,
            name: String::new(),
            balance: 0,
            version: 0,
            new: Vec::new(),
        }
    }

    fn apply(&mut self, event: &AccountEvent) {
        match event {
            AccountEvent::Initialized { name, .. } | AccountEvent::NameChanged { name } => {
                self.name.clone_from(name)
            }
            AccountEvent::Deposited { amount } => self.balance += amount,
        }
    }

    /// Folds one stored event; rows must arrive in sequence order.
    fn apply_stored(&mut self, sequence: i32, event: AccountEvent) -> Res<()> {
        if sequence != self.version + 1 {
            return Err(format!(
                "account {}: sequence {sequence} after {}",
                self.id, self.version
            )
            .into());
        }
        self.apply(&event);
        self.version = sequence;
        Ok(())
    }

    fn deposit(&mut self, amount: i64) {
        let event = AccountEvent::Deposited { amount };
        self.apply(&event);
        self.new.push(event);
    }

    fn rename(&mut self, name: String) {
        let event = AccountEvent::NameChanged { name };
        self.apply(&event);
        self.new.push(event);
    }

    /// The staged events as the parallel arrays the writes bind.
    fn batch(&self) -> Batch<'_> {
        let n = self.new.len();
        let mut batch = Batch {
            sequences: Vec::with_capacity(n),
            types: Vec::with_capacity(n),
            events: Vec::with_capacity(n),
            contexts: Vec::with_capacity(n),
        };
        for (i, event) in self.new.iter().enumerate() {
            batch.sequences.push(self.version + 1 + i as i32);
            batch.types.push(event.event_type());
            batch.events.push(Json(event));
            batch.contexts.push(None);
        }
        batch
    }

    fn mark_persisted(&mut self) {
        self.version += self.new.len() as i32;
        self.new.clear();
    }
}

/// Parallel arrays of new events (the `context` column is always NULL here).
struct Batch<'a> {
    sequences: Vec<i32>,
    types: Vec<&'static str>,
    events: Vec<Json<&'a AccountEvent>>,
    contexts: Vec<Option<Json<serde_json::Value>>>,
}

/// Groups rows ordered by (entity, sequence) into accounts.
fn fold(rows: impl IntoIterator<Item = (Uuid, i32, AccountEvent)>) -> Res<Vec<Account>> {
    let mut out: Vec<Account> = Vec::new();
    for (id, sequence, event) in rows {
        if out.last().is_none_or(|a| a.id != id) {
            out.push(Account::empty(id));
        }
        out.last_mut()
            .expect("pushed above")
            .apply_stored(sequence, event)?;
    }
    Ok(out)
}

fn one(mut accounts: Vec<Account>, what: &str) -> Res<Account> {
    match accounts.len() {
        1 => Ok(accounts.pop().expect("one")),
        0 => Err(format!("no account with {what}").into()),
        n => Err(format!("{n} accounts with {what}").into()),
    }
}

#[derive(Debug, Clone)]
pub struct Cursor {
    name: String,
    id: Uuid,
}

pub struct Floor {
    pool: PgPool,
}

impl Floor {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

impl Subject for Floor {
    type Entity = Account;
    type Cursor = Cursor;
    const NAME: &'static str = "floor";

    async fn create(&self, id: Uuid, name: String) -> Res<Account> {
        let mut account = Account::empty(id);
        let init = AccountEvent::Initialized {
            id,
            name: name.clone(),
        };
        account.apply(&init);
        account.new.push(init);
        let batch = account.batch();
        sqlx::query!(
            "WITH entity AS (INSERT INTO bench_floor_accounts (id, created_at, name) \
             VALUES ($1, NOW(), $2) RETURNING id, created_at), \
             inserted AS (INSERT INTO bench_floor_account_events (id, sequence, event_type, event, context, recorded_at) \
             SELECT entity.id, s.sequence, s.event_type, s.event, s.context, entity.created_at \
             FROM entity CROSS JOIN UNNEST($3::INT4[], $4::TEXT[], $5::JSONB[], $6::JSONB[]) \
             AS s(sequence, event_type, event, context) RETURNING 1) \
             SELECT entity.created_at AS \"now!\", (SELECT COUNT(*) FROM inserted) AS \"events!\" FROM entity",
            id,
            name,
            &batch.sequences[..] as &[i32],
            &batch.types[..] as &[&str],
            &batch.events as _,
            &batch.contexts as _,
        )
        .fetch_one(&self.pool)
        .await?;
        drop(batch);
        account.mark_persisted();
        Ok(account)
    }

    fn deposit(entity: &mut Account, amount: i64) {
        entity.deposit(amount);
    }

    fn rename(entity: &mut Account, name: String) {
        entity.rename(name);
    }

    async fn update<'a>(&'a self, entity: &'a mut Account) -> Res<Write> {
        if entity.new.is_empty() {
            return Ok(Write::Done);
        }
        let batch = entity.batch();
        let result = sqlx::query!(
            "WITH changed AS (UPDATE bench_floor_accounts u SET name = $2 WHERE u.id = $1 \
             AND NOT (ROW((ARRAY[u.name, $2])[1])::RECORD *= ROW((ARRAY[u.name, $2])[2])::RECORD) \
             RETURNING u.id), \
             kept AS (SELECT id FROM bench_floor_accounts WHERE id = $1 \
             AND (SELECT COUNT(*) FROM changed) = 0 FOR UPDATE), \
             entity AS (SELECT id FROM changed UNION ALL SELECT id FROM kept), \
             inserted AS (INSERT INTO bench_floor_account_events (id, sequence, event_type, event, context, recorded_at) \
             SELECT entity.id, s.sequence, s.event_type, s.event, s.context, NOW() \
             FROM entity CROSS JOIN UNNEST($3::INT4[], $4::TEXT[], $5::JSONB[], $6::JSONB[]) \
             AS s(sequence, event_type, event, context) RETURNING 1) \
             SELECT NOW() AS \"now!\", (SELECT COUNT(*) FROM entity) AS \"found!\", \
             (SELECT COUNT(*) FROM inserted) AS \"events!\"",
            entity.id,
            entity.name.as_str(),
            &batch.sequences[..] as &[i32],
            &batch.types[..] as &[&str],
            &batch.events as _,
            &batch.contexts as _,
        )
        .fetch_one(&self.pool)
        .await;
        drop(batch);
        match result {
            Ok(row) if row.found == 1 => {
                entity.mark_persisted();
                Ok(Write::Done)
            }
            Ok(_) => Err(format!("account {} not found", entity.id).into()),
            Err(sqlx::Error::Database(db)) if db.constraint() == Some(SEQUENCE_KEY) => {
                Ok(Write::Conflict)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn find_by_id(&self, id: Uuid) -> Res<Account> {
        let rows = sqlx::query!(
            "WITH entities AS (SELECT id FROM bench_floor_accounts WHERE id = $1) \
             SELECT e.id AS \"entity_id!\", e.sequence AS \"sequence!\", e.event_type AS \"event_type!\", e.event AS \"event!: Json<AccountEvent>\", e.context AS \"context?\", e.recorded_at AS \"recorded_at!\" \
             FROM entities i CROSS JOIN LATERAL (SELECT * FROM bench_floor_account_events x WHERE x.id = i.id ORDER BY x.sequence) e \
             ORDER BY e.id, e.sequence",
            id
        )
        .fetch_all(&self.pool)
        .await?;
        one(
            fold(
                rows.into_iter()
                    .map(|r| (r.entity_id, r.sequence, r.event.0)),
            )?,
            "this id",
        )
    }

    async fn find_by_name<'a>(&'a self, name: &'a str) -> Res<Account> {
        let rows = sqlx::query!(
            "WITH entities AS (SELECT id FROM bench_floor_accounts WHERE name = $1 LIMIT 2) \
             SELECT e.id AS \"entity_id!\", e.sequence AS \"sequence!\", e.event_type AS \"event_type!\", e.event AS \"event!: Json<AccountEvent>\", e.context AS \"context?\", e.recorded_at AS \"recorded_at!\" \
             FROM entities i CROSS JOIN LATERAL (SELECT * FROM bench_floor_account_events x WHERE x.id = i.id ORDER BY x.sequence) e \
             ORDER BY e.id, e.sequence",
            name
        )
        .fetch_all(&self.pool)
        .await?;
        one(
            fold(
                rows.into_iter()
                    .map(|r| (r.entity_id, r.sequence, r.event.0)),
            )?,
            "this name",
        )
    }

    async fn list_by_name(
        &self,
        first: usize,
        after: Option<Cursor>,
    ) -> Res<(usize, Option<Cursor>)> {
        let limit = first as i64 + 1;
        let rows: Vec<(Uuid, i32, AccountEvent)> = match after {
            None => sqlx::query!(
                "WITH entities AS (SELECT id, name FROM bench_floor_accounts \
                 ORDER BY name, id LIMIT $1) \
                 SELECT e.id AS \"entity_id!\", e.sequence AS \"sequence!\", e.event_type AS \"event_type!\", e.event AS \"event!: Json<AccountEvent>\", e.context AS \"context?\", e.recorded_at AS \"recorded_at!\" \
                 FROM entities i CROSS JOIN LATERAL (SELECT * FROM bench_floor_account_events x WHERE x.id = i.id ORDER BY x.sequence) e \
                 ORDER BY i.name, i.id, e.sequence",
                limit
            )
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| (r.entity_id, r.sequence, r.event.0))
            .collect(),
            Some(c) => sqlx::query!(
                "WITH entities AS (SELECT id, name FROM bench_floor_accounts \
                 WHERE (name, id) > ($2, $3) ORDER BY name, id LIMIT $1) \
                 SELECT e.id AS \"entity_id!\", e.sequence AS \"sequence!\", e.event_type AS \"event_type!\", e.event AS \"event!: Json<AccountEvent>\", e.context AS \"context?\", e.recorded_at AS \"recorded_at!\" \
                 FROM entities i CROSS JOIN LATERAL (SELECT * FROM bench_floor_account_events x WHERE x.id = i.id ORDER BY x.sequence) e \
                 ORDER BY i.name, i.id, e.sequence",
                limit,
                c.name,
                c.id
            )
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| (r.entity_id, r.sequence, r.event.0))
            .collect(),
        };
        let mut accounts = fold(rows)?;
        let more = accounts.len() > first;
        accounts.truncate(first);
        let next = if more {
            accounts.last().map(|a| Cursor {
                name: a.name.clone(),
                id: a.id,
            })
        } else {
            None
        };
        Ok((accounts.len(), next))
    }

    async fn create_all(&self, new: Vec<(Uuid, String)>) -> Res<Vec<Account>> {
        if new.is_empty() {
            return Ok(Vec::new());
        }
        let n = new.len();
        let mut accounts = Vec::with_capacity(n);
        let mut ids = Vec::with_capacity(n);
        let mut names = Vec::with_capacity(n);
        for (id, name) in new {
            let mut account = Account::empty(id);
            let init = AccountEvent::Initialized {
                id,
                name: name.clone(),
            };
            account.apply(&init);
            account.new.push(init);
            ids.push(id);
            names.push(name);
            accounts.push(account);
        }
        {
            let mut ev_ids = Vec::with_capacity(n);
            let mut sequences = Vec::with_capacity(n);
            let mut types = Vec::with_capacity(n);
            let mut events = Vec::with_capacity(n);
            let mut contexts: Vec<Option<Json<serde_json::Value>>> = Vec::with_capacity(n);
            for account in &accounts {
                for (i, event) in account.new.iter().enumerate() {
                    ev_ids.push(account.id);
                    sequences.push(account.version + 1 + i as i32);
                    types.push(event.event_type());
                    events.push(Json(event));
                    contexts.push(None);
                }
            }
            let row = sqlx::query!(
                "WITH entity AS (INSERT INTO bench_floor_accounts (id, created_at, name) \
                 SELECT u.id, NOW(), u.name FROM UNNEST($1::UUID[], $2::TEXT[]) AS u(id, name) \
                 RETURNING id), \
                 inserted AS (INSERT INTO bench_floor_account_events (id, sequence, event_type, event, context, recorded_at) \
                 SELECT s.id, s.sequence, s.event_type, s.event, s.context, NOW() \
                 FROM UNNEST($3::UUID[], $4::INT4[], $5::TEXT[], $6::JSONB[], $7::JSONB[]) \
                 AS s(id, sequence, event_type, event, context) RETURNING 1) \
                 SELECT (SELECT COUNT(*) FROM entity) AS \"entities!\"",
                &ids[..],
                &names[..],
                &ev_ids[..],
                &sequences[..] as &[i32],
                &types[..] as &[&str],
                &events as _,
                &contexts as _,
            )
            .fetch_one(&self.pool)
            .await?;
            if row.entities != n as i64 {
                return Err(format!("created {} of {n} accounts", row.entities).into());
            }
        }
        for account in &mut accounts {
            account.mark_persisted();
        }
        Ok(accounts)
    }

    async fn update_all<'a>(&'a self, entities: &'a mut [Account]) -> Res<usize> {
        let dirty = entities.iter().filter(|a| !a.new.is_empty()).count();
        if dirty == 0 {
            return Ok(0);
        }
        let written = {
            let mut ids = Vec::with_capacity(dirty);
            let mut names = Vec::with_capacity(dirty);
            let mut ev_ids = Vec::new();
            let mut sequences = Vec::new();
            let mut types = Vec::new();
            let mut events = Vec::new();
            let mut contexts: Vec<Option<Json<serde_json::Value>>> = Vec::new();
            for account in entities.iter().filter(|a| !a.new.is_empty()) {
                ids.push(account.id);
                names.push(account.name.as_str());
                for (i, event) in account.new.iter().enumerate() {
                    ev_ids.push(account.id);
                    sequences.push(account.version + 1 + i as i32);
                    types.push(event.event_type());
                    events.push(Json(event));
                    contexts.push(None);
                }
            }
            let row = sqlx::query!(
                "WITH entity AS (UPDATE bench_floor_accounts a SET name = u.name \
                 FROM UNNEST($1::UUID[], $2::TEXT[]) AS u(id, name) WHERE a.id = u.id RETURNING a.id), \
                 inserted AS (INSERT INTO bench_floor_account_events (id, sequence, event_type, event, context, recorded_at) \
                 SELECT s.id, s.sequence, s.event_type, s.event, s.context, NOW() \
                 FROM UNNEST($3::UUID[], $4::INT4[], $5::TEXT[], $6::JSONB[], $7::JSONB[]) \
                 AS s(id, sequence, event_type, event, context) RETURNING 1) \
                 SELECT (SELECT COUNT(*) FROM entity) AS \"found!\", (SELECT COUNT(*) FROM inserted) AS \"events!\"",
                &ids[..],
                &names[..] as &[&str],
                &ev_ids[..],
                &sequences[..] as &[i32],
                &types[..] as &[&str],
                &events as _,
                &contexts as _,
            )
            .fetch_one(&self.pool)
            .await?;
            if row.found != dirty as i64 {
                return Err(format!("found {} of {dirty} accounts", row.found).into());
            }
            row.events as usize
        };
        for account in entities.iter_mut() {
            account.mark_persisted();
        }
        Ok(written)
    }

    fn id(entity: &Account) -> Uuid {
        entity.id
    }

    fn balance(entity: &Account) -> i64 {
        entity.balance
    }

    fn persisted_events(entity: &Account) -> usize {
        entity.version as usize
    }
}
