//! How many statements each repository call sends: create = 1, update = 1,
//! update with nothing new = 0, find = 1, update_expecting = 1,
//! update_unchecked = 1, update_all_expecting (any mix of expectations) = 1,
//! update_all_unchecked = 1, a lost race on the pool = 1 + the version read.
//!
//! sqlx reports every statement it executes as one tracing event with target
//! `sqlx::query` (sqlx-core `logger.rs`, at the connection's
//! `log_statements` level, or its slow-statement level). A small subscriber
//! counts those events. It is installed with `set_default`, which is
//! thread-local, and the tests run on a current-thread runtime: only this
//! test's statements are counted, not those of tests on other threads.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use es_entity::*;
use log::LevelFilter;
use sqlx::postgres::PgPoolOptions;
use sqlx::{ConnectOptions, PgPool};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

use crate::repo_fixtures::*;

const TARGET: &str = "sqlx::query";

/// Counts `sqlx::query` events, keeping the SQL of each for messages.
#[derive(Clone, Default)]
pub(crate) struct StatementCounter {
    statements: Arc<Mutex<Vec<String>>>,
}

impl StatementCounter {
    /// The statements seen since the last call, forgetting them.
    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.statements.lock().unwrap())
    }
}

struct SqlField(String);

impl Visit for SqlField {
    fn record_str(&mut self, field: &Field, value: &str) {
        // `db.statement` holds the full text when `summary` abbreviates it.
        if field.name() == "summary" && self.0.is_empty()
            || field.name() == "db.statement" && !value.is_empty()
        {
            self.0 = value.trim().to_owned();
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl Subscriber for StatementCounter {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // Ask every time: threads without this subscriber must stay silent.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == TARGET
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        if event.metadata().target() == TARGET {
            let mut sql = SqlField(String::new());
            event.record(&mut sql);
            self.statements.lock().unwrap().push(sql.0);
        }
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// A one-connection pool whose statements are all reported at INFO (slow
/// ones too, so a slow statement is still one event), already connected.
pub(crate) async fn counted_pool() -> PgPool {
    es_entity_tests::pool().await; // the database exists and is migrated
    let options = es_entity_tests::connect_options()
        .log_statements(LevelFilter::Info)
        .log_slow_statements(LevelFilter::Info, Duration::from_secs(3600));
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .connect_with(options)
        .await
        .expect("counted pool");
    drop(pool.acquire().await.expect("connect before counting"));
    // A repository checks the column types sqlx cannot check at compile time
    // once per process, before its first write (tests/it/column_types.rs):
    // run those checks now, so that no counted body sees them.
    Members::new(&pool).check_column_types().await.unwrap();
    Memos::new(&pool).check_column_types().await.unwrap();
    Tallies::new(&pool).check_column_types().await.unwrap();
    Tickets::new(&pool).check_column_types().await.unwrap();
    crate::quickstart::Users::new(pool.clone())
        .check_column_types()
        .await
        .unwrap();
    crate::book_list::Tasks::new(pool.clone())
        .check_column_types()
        .await
        .unwrap();
    crate::repo_ids::Coupons::new(&pool)
        .check_column_types()
        .await
        .unwrap();
    crate::snapshots::Ledgers::new(&pool)
        .check_column_types()
        .await
        .unwrap();
    pool
}

/// Runs the test body with the counter installed on this thread.
pub(crate) async fn counting<F, Fut>(body: F)
where
    F: FnOnce(PgPool, StatementCounter) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let pool = counted_pool().await;
    let counter = StatementCounter::default();
    let _guard = tracing::subscriber::set_default(counter.clone());
    counter.take();
    body(pool, counter).await;
}

#[track_caller]
fn assert_statements(counter: &StatementCounter, expected: usize, what: &str) -> Vec<String> {
    let seen = counter.take();
    assert_eq!(seen.len(), expected, "{what}: {seen:#?}");
    seen
}

#[tokio::test]
async fn the_counter_sees_each_statement_of_this_thread() {
    counting(|pool, counter| async move {
        sqlx::query("SELECT 1").execute(&pool).await.unwrap();
        assert_statements(&counter, 1, "one query");
        sqlx::query("SELECT 1").execute(&pool).await.unwrap();
        sqlx::query("SELECT 2").execute(&pool).await.unwrap();
        let seen = assert_statements(&counter, 2, "two queries");
        assert_eq!(seen, ["SELECT 1", "SELECT 2"]);
        // sqlx's PostgreSQL transaction manager sends BEGIN as a simple query
        // that is not logged; the statements inside and COMMIT are.
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("SELECT 3").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        let seen = assert_statements(&counter, 2, "SELECT, COMMIT");
        assert_eq!(seen, ["SELECT 3", "COMMIT"]);
    })
    .await;
}

#[tokio::test]
async fn create_is_one_statement() {
    counting(|pool, counter| async move {
        let tallies = Tallies::new(&pool);
        // Cold: the statement is prepared on this connection first.
        let tally = tallies
            .create(NewTally::fresh(vec![1, 2, 3]))
            .await
            .unwrap();
        let seen = assert_statements(&counter, 1, "create with 4 events (cold)");
        assert!(
            seen[0].starts_with("WITH entity AS (INSERT INTO tallies"),
            "{}",
            seen[0]
        );
        assert_eq!(tally.events().len_persisted(), 4);
        // Warm.
        tallies.create(NewTally::fresh(vec![])).await.unwrap();
        assert_statements(&counter, 1, "create with 1 event (warm)");

        // With several index columns.
        let members = Members::new(&pool);
        members.create(NewMember::fresh()).await.unwrap();
        assert_statements(&counter, 1, "member create");
    })
    .await;
}

/// With ids the repository assigns (`id(source = "repo")`), as with the
/// caller's: one statement to create one entity, one to create a batch.
#[tokio::test]
async fn repo_assigned_ids_create_and_create_all_are_one_statement_each() {
    use crate::repo_ids::{Coupons, new_coupon};
    counting(|pool, counter| async move {
        let coupons = Coupons::new(&pool);
        let one = coupons.create(new_coupon(&unique("rt"))).await.unwrap();
        let seen = assert_statements(&counter, 1, "create with a repository id");
        assert!(
            seen[0].starts_with("WITH entity AS (INSERT INTO coupons"),
            "{}",
            seen[0]
        );
        let batch = coupons
            .create_all(
                (0..3)
                    .map(|i| new_coupon(&unique(&format!("rt{i}"))))
                    .collect(),
            )
            .await
            .unwrap();
        assert_statements(&counter, 1, "create_all of 3 with repository ids");
        assert_eq!(batch.len(), 3);
        assert!(batch.iter().all(|c| c.id != one.id));
    })
    .await;
}

#[tokio::test]
async fn update_is_one_statement_and_nothing_new_is_none() {
    counting(|pool, counter| async move {
        let tallies = Tallies::new(&pool);
        let mut tally = tallies.create(NewTally::fresh(vec![])).await.unwrap();
        counter.take();

        tally.count(1);
        tally.count(2);
        tally.count(3);
        assert_eq!(tallies.update(&mut tally).await.unwrap(), 3);
        let seen = assert_statements(&counter, 1, "update with 3 events");
        assert!(
            seen[0].starts_with("WITH changed AS (UPDATE tallies"),
            "{}",
            seen[0]
        );

        assert_eq!(tallies.update(&mut tally).await.unwrap(), 0);
        assert_statements(&counter, 0, "update with nothing new");

        let memos = Memos::new(&pool);
        let mut memo = memos
            .create(NewMemo {
                id: MemoId::new(),
                title: unique("m"),
            })
            .await
            .unwrap();
        counter.take();
        memo.retitle("again");
        memos.update(&mut memo).await.unwrap();
        assert_statements(&counter, 1, "update without updatable columns");
    })
    .await;
}

#[tokio::test]
async fn find_is_one_statement() {
    counting(|pool, counter| async move {
        let tallies = Tallies::new(&pool);
        let mut tally = tallies.create(NewTally::fresh(vec![1])).await.unwrap();
        tally.count(1);
        tallies.update(&mut tally).await.unwrap();
        counter.take();

        let loaded = tallies.find_by_id(tally.id).await.unwrap();
        assert_eq!(loaded.events().len_persisted(), 3);
        assert_statements(&counter, 1, "find_by_id");
        tallies.find_by_name(&tally.name).await.unwrap();
        assert_statements(&counter, 1, "find_by_name");
        assert!(tallies.maybe_find_by_id(tally.id).await.unwrap().is_some());
        assert_statements(&counter, 1, "maybe_find_by_id (found)");
        assert!(
            tallies
                .maybe_find_by_name(unique("none"))
                .await
                .unwrap()
                .is_none()
        );
        assert_statements(&counter, 1, "maybe_find_by_name (none)");
        assert!(
            tallies
                .find_by_id(TallyId::new())
                .await
                .unwrap_err()
                .was_not_found()
        );
        assert_statements(&counter, 1, "find_by_id (not found)");
    })
    .await;
}

#[tokio::test]
async fn in_op_calls_add_one_statement_each_to_the_transaction() {
    counting(|pool, counter| async move {
        let (members, tickets) = (Members::new(&pool), Tickets::new(&pool));
        let mut op = DbOp::init(&pool).await.unwrap();
        assert_statements(&counter, 0, "BEGIN is not logged by sqlx");

        let mut member = members
            .create_in_op(&mut op, NewMember::fresh())
            .await
            .unwrap();
        assert_statements(&counter, 1, "create_in_op");
        let ticket = tickets
            .create_in_op(
                &mut op,
                NewTicket {
                    id: TicketId::new(),
                    member_id: member.id,
                    title: "t".into(),
                },
            )
            .await
            .unwrap();
        assert_statements(&counter, 1, "create_in_op (second repo)");
        member.note("n");
        members.update_in_op(&mut op, &mut member).await.unwrap();
        assert_statements(&counter, 1, "update_in_op");
        members.update_in_op(&mut op, &mut member).await.unwrap();
        assert_statements(&counter, 0, "update_in_op with nothing new");
        tickets.find_by_id_in_op(&mut op, ticket.id).await.unwrap();
        assert_statements(&counter, 1, "find_by_id_in_op");
        members
            .maybe_find_by_email_in_op(&mut op, &member.normalized_email)
            .await
            .unwrap();
        assert_statements(&counter, 1, "maybe_find_by_email_in_op");

        op.commit().await.unwrap();
        assert_statements(&counter, 1, "COMMIT");
    })
    .await;
}

#[tokio::test]
async fn failed_writes_are_one_statement_too() {
    counting(|pool, counter| async move {
        let tallies = Tallies::new(&pool);
        let tally = tallies.create(NewTally::fresh(vec![])).await.unwrap();
        counter.take();

        let mut dup = NewTally::fresh(vec![]);
        dup.name = tally.name.clone();
        assert!(tallies.create(dup).await.unwrap_err().was_duplicate());
        assert_statements(&counter, 1, "duplicate create");

        let mut a = tallies.find_by_id(tally.id).await.unwrap();
        let mut b = tallies.find_by_id(tally.id).await.unwrap();
        counter.take();
        a.count(1);
        b.count(1);
        tallies.update(&mut a).await.unwrap();
        let err = tallies.update(&mut b).await.unwrap_err();
        assert_eq!(err.conflict_versions(), Some((1, Some(2))));
        // The losing write is one statement; the pool variant then reads the
        // stream's version to report it.
        let seen = assert_statements(&counter, 3, "winning and losing update");
        assert!(seen[2].starts_with("SELECT MAX(sequence)"), "{}", seen[2]);

        // Inside a transaction the aborted statement is the only one.
        let mut c = tallies.find_by_id(tally.id).await.unwrap();
        a.count(1);
        tallies.update(&mut a).await.unwrap();
        counter.take();
        c.count(1);
        let mut op = DbOp::init(&pool).await.unwrap();
        let err = tallies.update_in_op(&mut op, &mut c).await.unwrap_err();
        assert_eq!(err.conflict_versions(), Some((2, None)));
        assert_statements(&counter, 1, "losing update_in_op");
    })
    .await;
}

#[tokio::test]
async fn expecting_and_unchecked_updates_are_one_statement() {
    counting(|pool, counter| async move {
        let tallies = Tallies::new(&pool);
        let mut tally = tallies.create(NewTally::fresh(vec![])).await.unwrap();
        let mut other = tallies.find_by_id(tally.id).await.unwrap();
        counter.take();

        tally.count(1);
        tally.count(2);
        tallies
            .update_expecting(&mut tally, ExpectedVersion::Exact(1))
            .await
            .unwrap();
        let seen = assert_statements(&counter, 1, "update_expecting(Exact)");
        assert!(
            seen[0].starts_with("WITH changed AS (UPDATE tallies"),
            "{}",
            seen[0]
        );

        tally.count(3);
        tallies
            .update_expecting(&mut tally, ExpectedVersion::Any)
            .await
            .unwrap();
        let seen = assert_statements(&counter, 1, "update_expecting(Any)");
        assert!(
            seen[0].starts_with("WITH locked AS (SELECT id FROM tallies"),
            "{}",
            seen[0]
        );

        tally.count(4);
        tally.count(5);
        let done = tallies.update_unchecked(&mut tally).await.unwrap();
        assert_eq!(
            done,
            UncheckedWrite {
                written: 2,
                missed: 0
            }
        );
        assert_statements(&counter, 1, "update_unchecked");

        // Missed events come back from the same statement.
        other.count(6);
        let done = tallies.update_unchecked(&mut other).await.unwrap();
        assert_eq!(
            done,
            UncheckedWrite {
                written: 1,
                missed: 5
            }
        );
        assert_statements(&counter, 1, "update_unchecked catching up");
        assert_eq!(other.total, 21);

        // In a transaction too.
        let mut op = DbOp::init(&pool).await.unwrap();
        tally.count(1);
        tallies
            .update_unchecked_in_op(&mut op, &mut tally)
            .await
            .unwrap();
        assert_statements(&counter, 1, "update_unchecked_in_op");
        op.commit().await.unwrap();
        assert_statements(&counter, 1, "COMMIT");

        let mut batch = vec![tallies.find_by_id(tally.id).await.unwrap()];
        counter.take();
        batch[0].count(1);
        tallies
            .update_all_expecting(&mut batch, |_| 8)
            .await
            .unwrap();
        assert_statements(&counter, 1, "update_all_expecting");

        // Mixed expectations in one batch, and an unchecked batch, one
        // statement each (the unchecked member catching up with a missed
        // event from the same statement).
        let second = tallies.create(NewTally::fresh(vec![])).await.unwrap();
        let mut batch = vec![
            tallies.find_by_id(tally.id).await.unwrap(),
            tallies.find_by_id(second.id).await.unwrap(),
        ];
        let mut other = tallies.find_by_id(second.id).await.unwrap();
        other.count(1);
        tallies.update(&mut other).await.unwrap();
        counter.take();
        for t in &mut batch {
            t.count(1);
        }
        let first = tally.id;
        tallies
            .update_all_expecting(&mut batch, |t| {
                if t.id == first {
                    ExpectedVersion::Exact(9)
                } else {
                    ExpectedVersion::Any
                }
            })
            .await
            .unwrap();
        let seen = assert_statements(&counter, 1, "update_all_expecting (Exact and Any)");
        assert!(
            seen[0].starts_with("WITH rows AS MATERIALIZED"),
            "{}",
            seen[0]
        );
        for t in &mut batch {
            t.count(1);
        }
        let done = tallies.update_all_unchecked(&mut batch).await.unwrap();
        assert_eq!(done.written, 2);
        assert_statements(&counter, 1, "update_all_unchecked");
        let mut op = DbOp::init(&pool).await.unwrap();
        for t in &mut batch {
            t.count(1);
        }
        tallies
            .update_all_unchecked_in_op(&mut op, &mut batch)
            .await
            .unwrap();
        assert_statements(&counter, 1, "update_all_unchecked_in_op");
        op.commit().await.unwrap();
    })
    .await;
}

/// A repository with snapshots: storing one rides in the write's statement,
/// and every read takes the snapshot and the events after it in one.
#[tokio::test]
async fn snapshot_writes_and_reads_are_one_statement_each() {
    use crate::snapshots::{Ledger, Ledgers, NewLedger};
    counting(|pool, counter| async move {
        let repo = Ledgers::new(&pool);
        let owner = NewLedger::fresh("x").name;
        let mut ledger = repo.create(NewLedger::fresh(&owner)).await.unwrap();
        assert_statements(&counter, 1, "create");
        for amount in 1..=3 {
            ledger.deposit(amount);
        }
        repo.update(&mut ledger).await.unwrap();
        let seen = assert_statements(&counter, 1, "update storing a snapshot");
        assert!(
            seen[0].contains("INSERT INTO ledger_snapshots"),
            "{}",
            seen[0]
        );
        ledger.deposit(4);
        repo.update(&mut ledger).await.unwrap();
        assert_statements(&counter, 1, "update storing none");
        let loaded = repo.find_by_id(ledger.id).await.unwrap();
        assert_statements(&counter, 1, "find_by_id");
        assert_eq!(loaded.events().loaded_from_snapshot(), Some(4));

        let mut batch = repo
            .create_all(vec![NewLedger::fresh(&owner), NewLedger::fresh(&owner)])
            .await
            .unwrap();
        assert_statements(&counter, 1, "create_all");
        for ledger in &mut batch {
            for amount in 1..=3 {
                ledger.deposit(amount);
            }
        }
        repo.update_all(&mut batch).await.unwrap();
        assert_statements(&counter, 1, "update_all storing two snapshots");
        let ids: Vec<_> = batch.iter().map(|l| l.id).collect();
        let all = repo.find_all::<Ledger>(&ids).await.unwrap();
        assert_statements(&counter, 1, "find_all");
        assert!(
            all.values()
                .all(|l| l.events().loaded_from_snapshot() == Some(4))
        );
        let page = repo
            .list_for_owner_by_created_at(
                owner.clone(),
                PaginatedQueryArgs::first(10),
                ListDirection::Ascending,
            )
            .await
            .unwrap();
        assert_statements(&counter, 1, "list_for");
        assert_eq!(page.entities.len(), 3);
        let (found, _) = repo.of_owner_named(&owner, "", 10).await.unwrap();
        assert_statements(&counter, 1, "es_query!(snapshot, ...)");
        assert_eq!(found.len(), 3);
    })
    .await;
}
