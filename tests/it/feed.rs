//! The event feed (`#[es_repo(feed)]`): every write shows up in
//! `(transaction_id, position)` order, a transaction that took an early
//! position and commits last is not skipped, several entity types read in
//! one order, and the feed columns do not change what writes send.
//!
//! Other tests (and other databases of the same server) may hold
//! transactions open, which holds the feed's horizon back: reads here poll
//! until the events they expect are visible.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use es_entity::*;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

// ANCHOR: entities
entity_id! { LedgerAccountId, LedgerNoteId }

#[derive(EsEvent, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "LedgerAccountId")]
pub enum LedgerAccountEvent {
    Opened { name: String },
    Deposited { amount: i64 },
}

#[derive(EsEntity, Debug)]
pub struct LedgerAccount {
    pub id: LedgerAccountId,
    pub name: String,
    pub balance: i64,
    events: EntityEvents<LedgerAccountEvent>,
}

// ANCHOR: repos
#[derive(EsRepo, Debug, Clone)]
#[es_repo(entity = "LedgerAccount", columns(name = "String"), feed)]
pub struct LedgerAccounts {
    pool: PgPool,
}
// ANCHOR_END: repos
// ANCHOR_END: entities

impl LedgerAccount {
    pub fn deposit(&mut self, amount: i64) {
        self.balance += amount;
        self.events.push(LedgerAccountEvent::Deposited { amount });
    }
}

impl TryFromEvents<LedgerAccountEvent> for LedgerAccount {
    fn try_from_events(
        events: EntityEvents<LedgerAccountEvent>,
    ) -> Result<Self, EntityHydrationError> {
        let mut name = None;
        let mut balance = 0;
        for event in events.iter_all() {
            match event {
                LedgerAccountEvent::Opened { name: n } => name = Some(n.clone()),
                LedgerAccountEvent::Deposited { amount } => balance += amount,
            }
        }
        Ok(LedgerAccount {
            id: *events.id(),
            name: name.ok_or_else(|| events.missing_field("name"))?,
            balance,
            events,
        })
    }
}

#[derive(Debug, Clone)]
pub struct NewLedgerAccount {
    pub id: LedgerAccountId,
    pub name: String,
    /// Deposits recorded with the opening, as more events of the create.
    pub deposits: Vec<i64>,
}

impl NewLedgerAccount {
    pub fn new(name: &str, deposits: &[i64]) -> Self {
        Self {
            id: LedgerAccountId::new(),
            name: name.to_owned(),
            deposits: deposits.to_vec(),
        }
    }
}

impl IntoEvents<LedgerAccountEvent> for NewLedgerAccount {
    fn into_events(self) -> EntityEvents<LedgerAccountEvent> {
        let opened = LedgerAccountEvent::Opened { name: self.name };
        let deposits = self
            .deposits
            .into_iter()
            .map(|amount| LedgerAccountEvent::Deposited { amount });
        EntityEvents::init(self.id, std::iter::once(opened).chain(deposits))
    }
}

#[derive(EsEvent, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "LedgerNoteId")]
pub enum LedgerNoteEvent {
    Written {
        account_id: LedgerAccountId,
        text: String,
    },
    Edited {
        text: String,
    },
}

#[derive(EsEntity, Debug)]
pub struct LedgerNote {
    pub id: LedgerNoteId,
    pub account_id: LedgerAccountId,
    pub text: String,
    events: EntityEvents<LedgerNoteEvent>,
}

impl LedgerNote {
    pub fn edit(&mut self, text: &str) {
        self.text = text.to_owned();
        self.events.push(LedgerNoteEvent::Edited {
            text: text.to_owned(),
        });
    }
}

impl TryFromEvents<LedgerNoteEvent> for LedgerNote {
    fn try_from_events(
        events: EntityEvents<LedgerNoteEvent>,
    ) -> Result<Self, EntityHydrationError> {
        let mut written = None;
        for event in events.iter_all() {
            match event {
                LedgerNoteEvent::Written { account_id, text } => {
                    written = Some((*account_id, text.clone()))
                }
                LedgerNoteEvent::Edited { text } => {
                    if let Some((_, t)) = written.as_mut() {
                        *t = text.clone();
                    }
                }
            }
        }
        let (account_id, text) = written.ok_or_else(|| events.missing_field("account_id"))?;
        Ok(LedgerNote {
            id: *events.id(),
            account_id,
            text,
            events,
        })
    }
}

#[derive(Debug, Clone)]
pub struct NewLedgerNote {
    pub id: LedgerNoteId,
    pub account_id: LedgerAccountId,
    pub text: String,
}

impl IntoEvents<LedgerNoteEvent> for NewLedgerNote {
    fn into_events(self) -> EntityEvents<LedgerNoteEvent> {
        EntityEvents::init(
            self.id,
            [LedgerNoteEvent::Written {
                account_id: self.account_id,
                text: self.text,
            }],
        )
    }
}

#[derive(EsRepo, Debug, Clone)]
#[es_repo(entity = "LedgerNote", columns(account_id = "LedgerAccountId"), feed)]
pub struct LedgerNotes {
    pool: PgPool,
}

impl LedgerAccounts {
    pub fn new(pool: &PgPool) -> Self {
        Self { pool: pool.clone() }
    }
}

impl LedgerNotes {
    pub fn new(pool: &PgPool) -> Self {
        Self { pool: pool.clone() }
    }
}

// ANCHOR: ledger_item
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One event of either entity type, as one feed reads them.
#[derive(Debug)]
pub enum LedgerFeedEvent {
    Account(FeedEvent<LedgerAccountId, LedgerAccountEvent>),
    Note(FeedEvent<LedgerNoteId, LedgerNoteEvent>),
}

impl FeedItem for LedgerFeedEvent {
    fn checkpoint(&self) -> FeedCheckpoint {
        match self {
            Self::Account(e) => e.checkpoint(),
            Self::Note(e) => e.checkpoint(),
        }
    }

    fn origin(&self) -> Option<FeedOrigin> {
        match self {
            Self::Account(e) => e.origin(),
            Self::Note(e) => e.origin(),
        }
    }
}

impl From<FeedEvent<LedgerAccountId, LedgerAccountEvent>> for LedgerFeedEvent {
    fn from(e: FeedEvent<LedgerAccountId, LedgerAccountEvent>) -> Self {
        Self::Account(e)
    }
}

impl From<FeedEvent<LedgerNoteId, LedgerNoteEvent>> for LedgerFeedEvent {
    fn from(e: FeedEvent<LedgerNoteId, LedgerNoteEvent>) -> Self {
        Self::Note(e)
    }
}

/// The next `limit` events of both tables in one order, after `after`.
pub async fn ledger_feed_after(
    accounts: &LedgerAccounts,
    notes: &LedgerNotes,
    after: Option<FeedCheckpoint>,
    limit: usize,
) -> Result<FeedBatch<LedgerFeedEvent>, BoxError> {
    let a = accounts.feed_after(after, limit).await?;
    let n = notes.feed_after(after, limit).await?;
    Ok(merge_feeds(
        limit,
        after,
        [
            a.map(LedgerFeedEvent::Account),
            n.map(LedgerFeedEvent::Note),
        ],
    ))
}

/// The same with both reads in one snapshot, so they share their horizon:
/// each merge then returns `limit` events whenever that many are waiting.
pub async fn ledger_feed_after_in_one_snapshot(
    pool: &PgPool,
    accounts: &LedgerAccounts,
    notes: &LedgerNotes,
    after: Option<FeedCheckpoint>,
    limit: usize,
) -> Result<FeedBatch<LedgerFeedEvent>, BoxError> {
    let mut op = DbOp::from(
        pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?,
    );
    let a = accounts.feed_after_in_op(&mut op, after, limit).await?;
    let n = notes.feed_after_in_op(&mut op, after, limit).await?;
    op.commit().await?;
    assert_eq!(a.horizon, n.horizon, "one snapshot, one horizon");
    Ok(merge_feeds(
        limit,
        after,
        [
            a.map(LedgerFeedEvent::Account),
            n.map(LedgerFeedEvent::Note),
        ],
    ))
}
// ANCHOR_END: ledger_item

/// A checkpoint after every event visible now and before every event of a
/// transaction that starts later: `(horizon, 0)`, from a read of 0 events.
async fn now(accounts: &LedgerAccounts) -> FeedCheckpoint {
    let end = FeedCheckpoint {
        transaction_id: i64::MAX,
        position: i64::MAX,
    };
    let batch = accounts.feed_after(Some(end), 0).await.unwrap();
    FeedCheckpoint {
        transaction_id: batch.horizon,
        position: 0,
    }
}

const WAIT: Duration = Duration::from_secs(120);

/// Reads the accounts feed from `after` in batches of `limit` until the
/// events of `ids` number `expected`, keeping only theirs. Fails on a
/// checkpoint that does not advance in feed order.
async fn drain_accounts(
    accounts: &LedgerAccounts,
    after: FeedCheckpoint,
    ids: &HashSet<LedgerAccountId>,
    expected: usize,
    limit: usize,
) -> (
    Vec<FeedEvent<LedgerAccountId, LedgerAccountEvent>>,
    FeedCheckpoint,
) {
    let started = Instant::now();
    let mut checkpoint = after;
    let mut out = Vec::new();
    while out.len() < expected {
        let batch = accounts.feed_after(Some(checkpoint), limit).await.unwrap();
        assert!(batch.events.len() <= limit);
        for event in batch.events {
            assert!(event.checkpoint() > checkpoint, "feed order");
            checkpoint = event.checkpoint();
            if ids.contains(&event.entity_id) {
                out.push(event);
            }
        }
        assert_eq!(batch.checkpoint, Some(checkpoint));
        if batch.exhausted && out.len() < expected {
            assert!(started.elapsed() < WAIT, "events did not arrive: {out:#?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    (out, checkpoint)
}

#[tokio::test]
async fn every_write_appears_once_in_feed_order() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let accounts = LedgerAccounts::new(&pool);
    let start = now(&accounts).await;

    // create: 3 events in one statement.
    let mut a = accounts.create(NewLedgerAccount::new("a", &[1, 2])).await?;
    // create_all: 3 entities in one statement.
    let mut bulk = accounts
        .create_all(vec![
            NewLedgerAccount::new("b", &[]),
            NewLedgerAccount::new("c", &[3]),
            NewLedgerAccount::new("d", &[]),
        ])
        .await?;
    // update: 2 events.
    a.deposit(4);
    a.deposit(5);
    accounts.update(&mut a).await?;
    // update_all: 2 entities, 3 events.
    bulk[0].deposit(6);
    bulk[2].deposit(7);
    bulk[2].deposit(8);
    accounts.update_all(&mut bulk).await?;
    // Two writes in one transaction.
    let mut op = accounts.begin_op().await?;
    let mut e = accounts
        .create_in_op(&mut op, NewLedgerAccount::new("e", &[]))
        .await?;
    a.deposit(9);
    accounts.update_in_op(&mut op, &mut a).await?;
    e.deposit(10);
    accounts.update_in_op(&mut op, &mut e).await?;
    op.commit().await?;

    let mut ids: HashSet<_> = bulk.iter().map(|x| x.id).collect();
    ids.extend([a.id, e.id]);
    // a: 6, b: 2, c: 2, d: 3, e: 2.
    let (events, _) = drain_accounts(&accounts, start, &ids, 15, 4).await;
    assert_eq!(events.len(), 15);

    // In feed order, strictly.
    for pair in events.windows(2) {
        assert!(pair[0].checkpoint() < pair[1].checkpoint());
    }
    // Each entity's events arrive in sequence order, 1, 2, 3, ...: the
    // sequence is the entity's version after the event.
    for entity in [&a, &bulk[0], &bulk[1], &bulk[2], &e] {
        let mine: Vec<_> = events.iter().filter(|x| x.entity_id == entity.id).collect();
        let sequences: Vec<_> = mine.iter().map(|x| x.sequence).collect();
        let version = entity.events().len_persisted();
        assert_eq!(sequences, (1..=version).collect::<Vec<_>>());
        let stored: Vec<_> = entity.events().iter_all().cloned().collect();
        let fed: Vec<_> = mine.iter().map(|x| x.event.clone()).collect();
        assert_eq!(fed, stored);
    }
    // The events of one statement share its transaction; separate writes
    // outside a transaction do not.
    let tx_of = |id, seq| {
        events
            .iter()
            .find(|x| x.entity_id == id && x.sequence == seq)
            .unwrap()
            .transaction_id
    };
    assert_eq!(tx_of(a.id, 1), tx_of(a.id, 3));
    assert_eq!(tx_of(bulk[0].id, 1), tx_of(bulk[2].id, 1));
    assert_ne!(tx_of(a.id, 1), tx_of(a.id, 4));
    // The transaction's writes: e's create, a's 6th event, e's 2nd event.
    assert_eq!(tx_of(e.id, 1), tx_of(a.id, 6));
    assert_eq!(tx_of(e.id, 2), tx_of(a.id, 6));
    Ok(())
}

// ANCHOR: long_transaction
#[tokio::test]
async fn a_transaction_committing_last_is_not_skipped() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let accounts = LedgerAccounts::new(&pool);
    let start = now(&accounts).await;

    // A transaction takes an early position and stays open...
    let mut long = accounts.begin_op().await?;
    let early = accounts
        .create_in_op(&mut long, NewLedgerAccount::new("early", &[]))
        .await?;
    // ...while other connections write and commit.
    let later = accounts
        .create_all(vec![
            NewLedgerAccount::new("later 1", &[]),
            NewLedgerAccount::new("later 2", &[]),
        ])
        .await?;

    // A reader now sees neither: the open transaction keeps the horizon below
    // every transaction that started after it.
    let ids: HashSet<_> = [early.id, later[0].id, later[1].id].into();
    let batch = accounts.feed_after(Some(start), 1000).await?;
    assert!(batch.events.iter().all(|e| !ids.contains(&e.entity_id)));
    let checkpoint = batch.checkpoint.unwrap_or(start);

    // It commits last. Reading on from the same checkpoint, the early event
    // arrives, before the later ones.
    long.commit().await?;
    let (events, _) = drain_accounts(&accounts, checkpoint, &ids, 3, 1000).await;
    let order: Vec<_> = events.iter().map(|e| e.entity_id).collect();
    assert_eq!(order, [early.id, later[0].id, later[1].id]);
    // A reader ordering by position alone, having passed the later events,
    // would have skipped the early one for good.
    assert!(events[0].position < events[1].position);
    Ok(())
}
// ANCHOR_END: long_transaction

/// Every event of both tables in one order, read the way a test can trust:
/// one SQL statement over both tables.
async fn union_order(
    pool: &PgPool,
    after: FeedCheckpoint,
    horizon: FeedCheckpoint,
) -> Vec<(i64, i64)> {
    sqlx::query_as::<_, (i64, i64)>(
        "SELECT transaction_id::TEXT::BIGINT, position FROM ( \
         SELECT transaction_id, position FROM ledger_account_events \
         UNION ALL SELECT transaction_id, position FROM ledger_note_events) e \
         WHERE (transaction_id, position) > ($1::TEXT::XID8, $2) \
         AND (transaction_id, position) <= ($3::TEXT::XID8, $4) \
         ORDER BY transaction_id, position",
    )
    .bind(after.transaction_id.to_string())
    .bind(after.position)
    .bind(horizon.transaction_id.to_string())
    .bind(horizon.position)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn several_entity_types_read_in_one_order() -> Result<(), BoxError> {
    several_entity_types(false).await
}

#[tokio::test]
async fn several_entity_types_read_in_one_order_and_one_snapshot() -> Result<(), BoxError> {
    several_entity_types(true).await
}

async fn several_entity_types(one_snapshot: bool) -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let accounts = LedgerAccounts::new(&pool);
    let notes = LedgerNotes::new(&pool);
    let start = now(&accounts).await;

    let mut written = 0;
    let mut mine = HashSet::new();
    for round in 0..4 {
        let mut account = accounts
            .create(NewLedgerAccount::new("acct", &[round]))
            .await?;
        let mut note = notes
            .create(NewLedgerNote {
                id: LedgerNoteId::new(),
                account_id: account.id,
                text: format!("note {round}"),
            })
            .await?;
        // Both types in one transaction, notes first.
        let mut op = accounts.begin_op().await?;
        note.edit("edited");
        notes.update_in_op(&mut op, &mut note).await?;
        account.deposit(round * 10);
        accounts.update_in_op(&mut op, &mut account).await?;
        op.commit().await?;
        written += 5;
        mine.insert(account.id.to_string());
        mine.insert(note.id.to_string());
    }

    // Read both in batches of 3 until all of ours have arrived.
    let started = Instant::now();
    let mut checkpoint = start;
    let mut seen: Vec<(String, FeedCheckpoint)> = Vec::new();
    while seen.len() < written {
        let batch = if one_snapshot {
            let batch =
                ledger_feed_after_in_one_snapshot(&pool, &accounts, &notes, Some(checkpoint), 3)
                    .await?;
            assert!(batch.exhausted || batch.events.len() == 3, "full batches");
            batch
        } else {
            ledger_feed_after(&accounts, &notes, Some(checkpoint), 3).await?
        };
        assert!(batch.events.len() <= 3);
        for event in &batch.events {
            assert!(event.checkpoint() > checkpoint, "one order over both");
            checkpoint = event.checkpoint();
            let id = match event {
                LedgerFeedEvent::Account(e) => e.entity_id.to_string(),
                LedgerFeedEvent::Note(e) => e.entity_id.to_string(),
            };
            if mine.contains(&id) {
                seen.push((id, checkpoint));
            }
        }
        if batch.events.is_empty() {
            assert!(started.elapsed() < WAIT, "events did not arrive");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Ours, in the order one statement over both tables gives.
    let reference: Vec<_> = union_order(&pool, start, checkpoint).await;
    let ours: Vec<_> = seen
        .iter()
        .map(|(_, c)| (c.transaction_id, c.position))
        .collect();
    let reference: Vec<_> = reference.into_iter().filter(|p| ours.contains(p)).collect();
    assert_eq!(ours, reference);
    Ok(())
}

#[tokio::test]
async fn an_undecodable_event_is_an_error_naming_it() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let accounts = LedgerAccounts::new(&pool);
    // Inside a transaction that is rolled back, so no other reader meets the
    // row: an event with a made-up type, under transaction id 3 (the oldest
    // a transaction can have), so it is visible and first in the feed.
    let mut op = accounts.begin_op().await?;
    let id = LedgerAccountId::new();
    sqlx::query("INSERT INTO ledger_accounts (id, created_at, name) VALUES ($1, NOW(), 'bad')")
        .bind(id)
        .execute(&mut **op.tx())
        .await?;
    sqlx::query(
        "INSERT INTO ledger_account_events (id, sequence, event_type, event, recorded_at, transaction_id) \
         VALUES ($1, 1, 'vanished', '{\"type\": \"vanished\"}', NOW(), '3')",
    )
    .bind(id)
    .execute(&mut **op.tx())
    .await?;
    let err = accounts
        .feed_after_in_op(&mut op, None, 1)
        .await
        .expect_err("an unknown event type");
    let QueryError::HydrationError(err) = err else {
        panic!("{err:?}")
    };
    assert_eq!(err.entity_id(), Some(id.to_string().as_str()));
    assert_eq!(err.sequence(), Some(1));
    assert!(
        matches!(err.failure(), HydrationFailure::UnknownEventType(t) if t == "vanished"),
        "{err:?}"
    );
    op.rollback().await?;
    Ok(())
}

#[tokio::test]
async fn merging_keeps_only_what_every_table_covers() {
    fn ev(tx: i64, pos: i64) -> FeedEvent<u8, ()> {
        FeedEvent {
            entity_id: 0,
            sequence: 1,
            position: pos,
            transaction_id: tx,
            recorded_at: chrono::Utc::now(),
            context: None,
            event: (),
        }
    }
    let cp = |tx, pos| {
        Some(FeedCheckpoint {
            transaction_id: tx,
            position: pos,
        })
    };
    // Read with different snapshots: table a (exhausted) saw nothing at or
    // above transaction 15, table b (exhausted) read later, up to 30.
    let a = FeedBatch {
        events: vec![ev(10, 5)],
        checkpoint: cp(10, 5),
        horizon: 15,
        exhausted: true,
    };
    let b = FeedBatch {
        events: vec![ev(12, 6), ev(20, 7)],
        checkpoint: cp(20, 7),
        horizon: 30,
        exhausted: true,
    };
    let merged = merge_feeds(10, cp(1, 1), [a, b]);
    let kept: Vec<_> = merged.events.iter().map(|e| e.position).collect();
    // (20, 7) waits: table a may still receive events below 20 it could not see.
    assert_eq!(kept, [5, 6]);
    assert_eq!(merged.checkpoint, cp(12, 6));
    assert!(!merged.exhausted);

    // Nothing covered: the merge continues from where it was read.
    let a = FeedBatch {
        events: vec![],
        checkpoint: cp(1, 1),
        horizon: 15,
        exhausted: true,
    };
    let b = FeedBatch {
        events: vec![ev(20, 7)],
        checkpoint: cp(20, 7),
        horizon: 30,
        exhausted: true,
    };
    let merged = merge_feeds(10, cp(1, 1), [a, b]);
    assert!(merged.events.is_empty());
    assert_eq!(merged.checkpoint, cp(1, 1));
}

#[tokio::test]
async fn the_feed_does_not_change_what_writes_send() {
    crate::repo_round_trips::counting(|pool, counter| async move {
        let accounts = LedgerAccounts::new(&pool);
        accounts.check_column_types().await.unwrap();
        counter.take();

        let mut a = accounts
            .create(NewLedgerAccount::new("counted", &[1, 2]))
            .await
            .unwrap();
        assert_eq!(counter.take().len(), 1, "create");
        a.deposit(3);
        accounts.update(&mut a).await.unwrap();
        assert_eq!(counter.take().len(), 1, "update");
        let mut many = accounts
            .create_all(vec![
                NewLedgerAccount::new("x", &[]),
                NewLedgerAccount::new("y", &[]),
            ])
            .await
            .unwrap();
        assert_eq!(counter.take().len(), 1, "create_all");
        many[0].deposit(1);
        many[1].deposit(2);
        accounts.update_all(&mut many).await.unwrap();
        assert_eq!(counter.take().len(), 1, "update_all");
        accounts.feed_after(None, 1).await.unwrap();
        assert_eq!(counter.take().len(), 1, "feed_after");
    })
    .await;
}
