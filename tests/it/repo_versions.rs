//! Expected versions (`update_expecting`, `update_all_expecting`), unchecked
//! writes (`update_unchecked`) and what a conflict reports, against real
//! PostgreSQL with real concurrent connections.

use std::sync::Arc;
use std::time::Duration;

use es_entity::*;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::repo_fixtures::*;
use crate::repo_round_trips::{StatementCounter, counted_pool};

/// Runs the future `make` builds on a thread of the test's multi-thread
/// runtime (the generated `find_by_*` futures are not `Send`, see
/// `repo_concurrency::find_by_futures_are_send`).
fn spawn_writer<T, F>(make: impl FnOnce() -> F + Send + 'static) -> tokio::task::JoinHandle<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = T>,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || handle.block_on(make()))
}

/// A pool of exactly `n` connections to the test database.
pub(crate) async fn pool_of(n: u32) -> PgPool {
    es_entity_tests::pool().await; // created and migrated
    PgPoolOptions::new()
        .max_connections(n)
        .min_connections(n)
        .connect_with(es_entity_tests::connect_options())
        .await
        .expect("pool")
}

/// A tally that was never stored (no persisted event, not in the database).
fn unsaved_tally() -> Tally {
    let events = NewTally::fresh(vec![]).into_events();
    Tally::try_from_events(events).expect("hydrates")
}

// ---------------------------------------------------------------------------
// Exact(n)

#[tokio::test]
async fn exact_writes_when_loaded_at_n_and_the_stream_is_still_at_n() {
    let pool = es_entity_tests::pool().await;
    let tallies = Tallies::new(&pool);
    let id = tallies
        .create(NewTally::fresh(vec![1, 2]))
        .await
        .unwrap()
        .id;
    let mut tally = tallies.find_by_id(id).await.unwrap();
    tally.count(3);
    tally.count(4);
    let written = tallies
        .update_expecting(&mut tally, ExpectedVersion::Exact(3))
        .await
        .unwrap();
    assert_eq!(written, 2);
    assert_eq!(
        stored_sequences(&pool, "tally_events", id).await,
        [1, 2, 3, 4, 5]
    );
    assert_eq!(tally.events().len_persisted(), 5);
    assert_eq!(ExpectedVersion::of(&tally), ExpectedVersion::Exact(5));
    assert_eq!(tallies.find_by_id(id).await.unwrap().total, 10);
}

#[tokio::test]
async fn exact_fails_without_writing_when_loaded_at_another_version() {
    let pool = es_entity_tests::pool().await;
    let tallies = Tallies::new(&pool);
    let id = tallies.create(NewTally::fresh(vec![1])).await.unwrap().id; // version 2
    for expected in [1, 3] {
        let mut tally = tallies.find_by_id(id).await.unwrap();
        tally.count(5);
        let err = tallies
            .update_expecting(&mut tally, ExpectedVersion::Exact(expected))
            .await
            .unwrap_err();
        match &err {
            ModifyError::ConcurrentModification {
                entity_id,
                expected_sequence,
                expected_version,
                actual_version,
            } => {
                assert_eq!(*entity_id, id);
                assert_eq!(*expected_version, expected);
                assert_eq!(*expected_sequence, expected + 1);
                assert_eq!(*actual_version, Some(2));
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        let shown = err.to_string();
        assert!(
            shown.contains(&format!("expected version {expected}, found 2")),
            "{shown}"
        );
        assert_eq!(tally.events().len_new(), 1, "the event stays unsaved");
    }
    assert_eq!(stored_sequences(&pool, "tally_events", id).await, [1, 2]);
}

#[tokio::test]
async fn exact_fails_without_writing_when_the_stream_moved() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let id = members.create(NewMember::fresh()).await.unwrap().id;
    let mut first = members.find_by_id(id).await.unwrap();
    let mut second = members.find_by_id(id).await.unwrap();
    let region = unique("first");
    first.change_region(&region);
    first.note("two events");
    members.update(&mut first).await.unwrap(); // version 3

    second.change_region(&unique("second"));
    let err = members
        .update_expecting(&mut second, ExpectedVersion::Exact(1))
        .await
        .unwrap_err();
    assert_eq!(err.conflict_versions(), Some((1, Some(3))));
    assert_eq!(
        stored_sequences(&pool, "member_events", id).await,
        [1, 2, 3]
    );
    assert_eq!(
        member_row(&pool, id).await.region,
        region,
        "columns untouched"
    );
}

/// Two writers on their own connections both load version n and write with
/// `Exact(n)` at the same moment: exactly one wins, the other gets the
/// conflict with the version the winner left, and nothing of it is stored.
/// Many rounds, so that both orders of arrival happen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_expecting_the_same_version_exactly_one_wins() {
    const ROUNDS: usize = 20;
    let pool = pool_of(2).await;
    let members = Members::new(&pool);
    let id = members.create(NewMember::fresh()).await.unwrap().id;
    let mut wins = [0usize; 2];
    for round in 0..ROUNDS {
        let n = 1 + round; // every round adds exactly one event
        let barrier = Arc::new(Barrier::new(2));
        let tasks: Vec<_> = (0..2)
            .map(|w| {
                let (members, barrier) = (members.clone(), barrier.clone());
                spawn_writer(move || async move {
                    let mut member = members.find_by_id(id).await.unwrap();
                    let version = member.events().len_persisted();
                    member.change_credit_limit((round * 10 + w) as i64);
                    barrier.wait().await; // both have read version n
                    let result = members
                        .update_expecting(&mut member, ExpectedVersion::Exact(version))
                        .await;
                    (version, result)
                })
            })
            .collect();
        let mut winner = None;
        for (w, task) in tasks.into_iter().enumerate() {
            let (version, result) = task.await.unwrap();
            assert_eq!(version, n, "round {round}: both read version n");
            match result {
                Ok(1) => {
                    assert!(winner.is_none(), "round {round}: two winners");
                    winner = Some(w);
                }
                Err(e) => assert_eq!(
                    e.conflict_versions(),
                    Some((n, Some(n + 1))),
                    "round {round}: {e:?}"
                ),
                Ok(other) => panic!("round {round}: wrote {other} events"),
            }
        }
        let w = winner.unwrap_or_else(|| panic!("round {round}: nobody won"));
        wins[w] += 1;
        assert_eq!(
            member_row(&pool, id).await.credit_limit,
            (round * 10 + w) as i64,
            "round {round}: the index row is the winner's"
        );
    }
    let expected: Vec<i32> = (1..=ROUNDS as i32 + 1).collect();
    assert_eq!(stored_sequences(&pool, "member_events", id).await, expected);
    println!(
        "exact-version race: writer 0 won {}, writer 1 won {}",
        wins[0], wins[1]
    );
}

#[tokio::test]
async fn in_a_transaction_a_lost_race_has_no_actual_version() {
    let pool = es_entity_tests::pool().await;
    let tallies = Tallies::new(&pool);
    let id = tallies.create(NewTally::fresh(vec![])).await.unwrap().id;
    let mut stale = tallies.find_by_id(id).await.unwrap();
    let mut other = tallies.find_by_id(id).await.unwrap();
    other.count(1);
    tallies.update(&mut other).await.unwrap();

    // The statement fails: PostgreSQL aborted the transaction, nothing can be read.
    stale.count(2);
    let mut op = DbOp::init(&pool).await.unwrap();
    let err = tallies
        .update_expecting_in_op(&mut op, &mut stale, ExpectedVersion::Exact(1))
        .await
        .unwrap_err();
    assert_eq!(err.conflict_versions(), Some((1, None)));
    assert!(err.to_string().ends_with("expected version 1"), "{err}");
    drop(op);

    // Found before anything is sent: the transaction is intact and says 2.
    let mut op = DbOp::init(&pool).await.unwrap();
    let err = tallies
        .update_expecting_in_op(&mut op, &mut stale, ExpectedVersion::Exact(7))
        .await
        .unwrap_err();
    assert_eq!(err.conflict_versions(), Some((7, Some(2))));
    let mut fresh = tallies.find_by_id_in_op(&mut op, id).await.unwrap();
    fresh.count(3);
    tallies
        .update_expecting_in_op(&mut op, &mut fresh, ExpectedVersion::Exact(2))
        .await
        .unwrap();
    op.commit().await.unwrap();
    assert_eq!(stored_sequences(&pool, "tally_events", id).await, [1, 2, 3]);

    // `update_in_op` reports the same way.
    let mut stale = tallies.find_by_id(id).await.unwrap();
    let mut other = tallies.find_by_id(id).await.unwrap();
    other.count(1);
    tallies.update(&mut other).await.unwrap();
    stale.count(1);
    let mut op = DbOp::init(&pool).await.unwrap();
    let err = tallies.update_in_op(&mut op, &mut stale).await.unwrap_err();
    assert_eq!(err.conflict_versions(), Some((3, None)));
}

// ---------------------------------------------------------------------------
// NoStream, StreamExists, Any

#[tokio::test]
async fn no_stream_on_an_update_conflicts_or_finds_nothing() {
    let pool = es_entity_tests::pool().await;
    let tallies = Tallies::new(&pool);
    let id = tallies.create(NewTally::fresh(vec![])).await.unwrap().id;

    let mut loaded = tallies.find_by_id(id).await.unwrap();
    loaded.count(1);
    let err = tallies
        .update_expecting(&mut loaded, ExpectedVersion::NoStream)
        .await
        .unwrap_err();
    assert_eq!(err.conflict_versions(), Some((0, Some(1))));

    // An entity built in memory with the id of a stored one: the statement
    // runs, finds the stream, and loses on sequence 1.
    let mut twin = Tally::try_from_events(EntityEvents::init(
        id,
        [TallyEvent::Started {
            name: unique("twin"),
        }],
    ))
    .unwrap();
    let err = tallies
        .update_expecting(&mut twin, ExpectedVersion::NoStream)
        .await
        .unwrap_err();
    assert_eq!(err.conflict_versions(), Some((0, Some(1))));

    // A stream that does not exist: NoStream holds, but an update has no
    // index row to write.
    let mut unsaved = unsaved_tally();
    let err = tallies
        .update_expecting(&mut unsaved, ExpectedVersion::NoStream)
        .await
        .unwrap_err();
    assert!(err.was_not_found(), "{err:?}");
    assert!(
        stored_sequences(&pool, "tally_events", unsaved.id)
            .await
            .is_empty()
    );
    assert_eq!(stored_sequences(&pool, "tally_events", id).await, [1]);
}

#[tokio::test]
async fn stream_exists_and_any_append_after_the_stream_and_need_the_entity() {
    let pool = es_entity_tests::pool().await;
    let tallies = Tallies::new(&pool);
    let id = tallies.create(NewTally::fresh(vec![])).await.unwrap().id;
    for (i, expected) in [ExpectedVersion::StreamExists, ExpectedVersion::Any]
        .into_iter()
        .enumerate()
    {
        let mut stale = tallies.find_by_id(id).await.unwrap();
        let mut other = tallies.find_by_id(id).await.unwrap();
        other.count(1);
        tallies.update(&mut other).await.unwrap();
        stale.count(10);
        assert_eq!(
            tallies
                .update_expecting(&mut stale, expected)
                .await
                .unwrap(),
            1
        );
        let loaded = tallies.find_by_id(id).await.unwrap();
        assert_eq!(stale.total, loaded.total, "{expected:?}: refreshed");
        assert_eq!(loaded.total, 11 * (i as i64 + 1));

        let mut unsaved = unsaved_tally();
        unsaved.count(1);
        let err = tallies
            .update_expecting(&mut unsaved, expected)
            .await
            .unwrap_err();
        assert!(err.was_not_found(), "{expected:?}: {err:?}");
        assert!(!index_row_exists(&pool, "tallies", unsaved.id).await);
    }
    assert_eq!(
        stored_sequences(&pool, "tally_events", id).await,
        [1, 2, 3, 4, 5]
    );
}

// ---------------------------------------------------------------------------
// update_all_expecting

#[tokio::test]
async fn update_all_expecting_checks_every_entity_and_writes_all_or_nothing() {
    let pool = es_entity_tests::pool().await;
    let tallies = Tallies::new(&pool);
    let a = tallies.create(NewTally::fresh(vec![])).await.unwrap().id; // version 1
    let b = tallies.create(NewTally::fresh(vec![1])).await.unwrap().id; // version 2
    let load = || async {
        let mut batch = vec![
            tallies.find_by_id(a).await.unwrap(),
            tallies.find_by_id(b).await.unwrap(),
        ];
        for t in &mut batch {
            t.count(1);
        }
        batch
    };
    // As a read model recorded them.
    let versions = |t: &Tally| if t.id == a { 1 } else { 2 };

    // b's version is recorded wrong: nothing is written.
    let mut batch = load().await;
    let err = tallies
        .update_all_expecting(&mut batch, |t| if t.id == a { 1 } else { 5 })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ModifyError::ConcurrentModification { entity_id, .. } if *entity_id == b),
        "{err:?}"
    );
    assert_eq!(err.conflict_versions(), Some((5, Some(2))));

    // b moved after the batch was loaded: nothing is written either.
    let mut batch = load().await;
    let mut other = tallies.find_by_id(b).await.unwrap();
    other.count(7);
    tallies.update(&mut other).await.unwrap();
    let err = tallies
        .update_all_expecting(&mut batch, versions)
        .await
        .unwrap_err();
    assert_eq!(err.conflict_versions(), Some((2, Some(3))));
    assert_eq!(stored_sequences(&pool, "tally_events", a).await, [1]);
    assert_eq!(stored_sequences(&pool, "tally_events", b).await, [1, 2, 3]);

    // Right versions: both are written in one statement.
    let mut batch = load().await;
    let written = tallies
        .update_all_expecting(&mut batch, |t| if t.id == a { 1 } else { 3 })
        .await
        .unwrap();
    assert_eq!(written, 2);
    assert_eq!(stored_sequences(&pool, "tally_events", a).await, [1, 2]);
    assert_eq!(
        stored_sequences(&pool, "tally_events", b).await,
        [1, 2, 3, 4]
    );

    // In a transaction, a moved stream has no actual version.
    let mut batch = load().await;
    let mut other = tallies.find_by_id(a).await.unwrap();
    other.count(1);
    tallies.update(&mut other).await.unwrap();
    let mut op = DbOp::init(&pool).await.unwrap();
    let err = tallies
        .update_all_expecting_in_op(&mut op, &mut batch, |t| if t.id == a { 2 } else { 4 })
        .await
        .unwrap_err();
    assert_eq!(err.conflict_versions(), Some((2, None)));
}

// ---------------------------------------------------------------------------
// update_unchecked

#[tokio::test]
async fn unchecked_appends_after_the_stream_takes_its_columns_and_refreshes() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let id = members.create(NewMember::fresh()).await.unwrap().id;
    let mut mine = members.find_by_id(id).await.unwrap();
    let mut theirs = members.find_by_id(id).await.unwrap();
    theirs.change_credit_limit(500);
    theirs.upgrade_tier("gold");
    members.update(&mut theirs).await.unwrap(); // version 3

    let region = unique("mine");
    mine.change_region(&region);
    let done = members.update_unchecked(&mut mine).await.unwrap();
    assert_eq!(
        done,
        UncheckedWrite {
            written: 1,
            missed: 2
        }
    );
    assert!(done.refreshed());

    assert_eq!(
        stored_sequences(&pool, "member_events", id).await,
        [1, 2, 3, 4]
    );
    // Last writer wins on the index row too: every column takes this
    // writer's values, also those it computed before the events it missed.
    let row = member_row(&pool, id).await;
    assert_eq!(
        (row.region.as_str(), row.credit_limit, row.tier.as_str()),
        (region.as_str(), 100, "basic")
    );
    // The in-memory entity is what a reload gives.
    let reloaded = members.find_by_id(id).await.unwrap();
    assert_eq!(
        (mine.credit_limit, mine.tier.as_str(), mine.region.as_str()),
        (500, "gold", region.as_str())
    );
    assert_eq!(
        (
            reloaded.credit_limit,
            reloaded.tier.as_str(),
            reloaded.region.as_str()
        ),
        (500, "gold", region.as_str())
    );
    let sequences = |m: &Member| {
        m.events()
            .iter_persisted()
            .map(|e| e.sequence)
            .collect::<Vec<_>>()
    };
    assert_eq!(sequences(&mine), sequences(&reloaded));

    // Nothing missed: nothing rebuilt. The refreshed entity's next write
    // brings the row in line with the whole history. Nothing new: nothing sent.
    mine.note("again");
    let done = members.update_unchecked(&mut mine).await.unwrap();
    assert_eq!(
        done,
        UncheckedWrite {
            written: 1,
            missed: 0
        }
    );
    let row = member_row(&pool, id).await;
    assert_eq!((row.credit_limit, row.tier.as_str()), (500, "gold"));
    assert_eq!(
        members.update_unchecked(&mut mine).await.unwrap(),
        UncheckedWrite::default()
    );
    assert_eq!(
        stored_sequences(&pool, "member_events", id).await,
        [1, 2, 3, 4, 5]
    );
}

#[tokio::test]
async fn unchecked_errors_have_no_conflict() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let taken = members.create(NewMember::fresh()).await.unwrap();
    let id = members.create(NewMember::fresh()).await.unwrap().id;

    let mut member = members.find_by_id(id).await.unwrap();
    member.change_email(&taken.email);
    let err = members.update_unchecked(&mut member).await.unwrap_err();
    assert!(err.was_duplicate_by(MemberColumn::Email), "{err:?}");
    let mut fresh = members.find_by_id(id).await.unwrap();
    fresh.change_credit_limit(-1);
    let err = members.update_unchecked(&mut fresh).await.unwrap_err();
    assert!(err.was_check_violation(), "{err:?}");
    assert_eq!(stored_sequences(&pool, "member_events", id).await, [1]);

    let tallies = Tallies::new(&pool);
    let mut unsaved = unsaved_tally();
    let err = tallies.update_unchecked(&mut unsaved).await.unwrap_err();
    // The error has no conflict variant (a `compile_fail` doctest on
    // `UncheckedModifyError` checks that).
    let not_found = match err {
        UncheckedModifyError::EntityNotFound { entity_id } => entity_id == unsaved.id,
        UncheckedModifyError::Sqlx(_)
        | UncheckedModifyError::ConstraintViolation(_)
        | UncheckedModifyError::HydrationError(_)
        | UncheckedModifyError::RefreshFailed(_)
        | UncheckedModifyError::ColumnTypeMismatch(_)
        | UncheckedModifyError::OutcomeUnknown(_)
        | UncheckedModifyError::PostPersistHook(_) => false,
        _ => false,
    };
    assert!(not_found);
}

#[tokio::test]
async fn unchecked_refresh_that_does_not_hydrate_is_reported_after_the_write() {
    let pool = es_entity_tests::pool().await;
    let memos = Memos::new(&pool);
    let id = memos
        .create(NewMemo {
            id: MemoId::new(),
            title: unique("m"),
        })
        .await
        .unwrap()
        .id;
    let mut mine = memos.find_by_id(id).await.unwrap();
    let mut theirs = memos.find_by_id(id).await.unwrap();
    theirs.retitle("theirs");
    memos.update(&mut theirs).await.unwrap();
    mine.retitle(""); // the memo's own rule refuses an empty title on hydration
    let err = memos.update_unchecked(&mut mine).await.unwrap_err();
    assert!(
        matches!(err, UncheckedModifyError::RefreshFailed(_)),
        "{err:?}"
    );
    // Stored, and the entity keeps no history a later write could build on.
    assert_eq!(stored_sequences(&pool, "memo_events", id).await, [1, 2, 3]);
    assert_eq!(mine.events().len_persisted(), 0);
    assert!(!mine.events().any_new());
}

/// Bad data: a stream stored with negative sequences. The unchecked write
/// appends after it and reads back a negative version, which is reported as
/// such (a typed error naming the entity and the sequence), not counted as
/// an empty stream.
#[tokio::test]
async fn unchecked_over_negative_stored_sequences_is_a_typed_error() {
    let pool = es_entity_tests::pool().await;
    let memos = Memos::new(&pool);
    let mut memo = memos
        .create(NewMemo {
            id: MemoId::new(),
            title: unique("neg"),
        })
        .await
        .unwrap();
    sqlx::query("UPDATE memo_events SET sequence = sequence - 10 WHERE id = $1")
        .bind(Uuid::from(memo.id))
        .execute(&pool)
        .await
        .unwrap();
    memo.retitle("after");
    let err = memos.update_unchecked(&mut memo).await.unwrap_err();
    let UncheckedModifyError::RefreshFailed(e) = &err else {
        panic!("expected RefreshFailed, got {err:?}");
    };
    let found = e.sequence().expect("the sequence is named");
    assert!(found < 0, "{e}");
    assert!(
        matches!(e.failure(), HydrationFailure::BadSequence(n) if *n == found),
        "{e}"
    );
    assert_eq!(e.entity_id(), Some(memo.id.to_string().as_str()));
}

/// Many writers append unchecked to one entity at once, each on its own
/// connection, each counting its own statements: every write lands, once,
/// in exactly one statement however the writers interleave (a writer that
/// waited for another's row lock reads the stream after it, with the
/// function's fresh snapshot), and the sequences stay gap-free.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_unchecked_writers_all_land_gap_free_one_statement_each() {
    const WRITERS: usize = 8;
    const WRITES: usize = 10;
    let pool = pool_of(2).await;
    let tallies = Tallies::new(&pool);
    let id = tallies.create(NewTally::fresh(vec![])).await.unwrap().id;
    let barrier = Arc::new(Barrier::new(WRITERS));
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        // A connection of its own, whose statements are logged.
        let own = counted_pool().await;
        let barrier = barrier.clone();
        tasks.push(spawn_writer(move || async move {
            let counter = StatementCounter::default();
            let _guard = tracing::subscriber::set_default(counter.clone());
            let tallies = Tallies::new(&own);
            let mut tally = tallies.find_by_id(id).await.unwrap();
            barrier.wait().await;
            counter.take();
            let (mut missed, mut statements) = (0, Vec::new());
            for i in 0..WRITES {
                tally.count((w * 1000 + i) as i64);
                if i % 3 == 0 {
                    tally.count(0); // some writes carry two events
                }
                let done = tallies.update_unchecked(&mut tally).await.unwrap();
                missed += done.missed;
                statements.push(counter.take().len());
            }
            (missed, statements)
        }));
    }
    let mut missed = 0;
    for task in tasks {
        let (m, statements) = task.await.unwrap();
        missed += m;
        assert_eq!(statements, [1; WRITES], "one statement per write");
    }
    let per_writer = WRITES + WRITES.div_ceil(3);
    let total = 1 + WRITERS * per_writer;
    let expected: Vec<i32> = (1..=total as i32).collect();
    assert_eq!(stored_sequences(&pool, "tally_events", id).await, expected);
    let tally = tallies.find_by_id(id).await.unwrap();
    let sum: i64 = (0..WRITERS)
        .flat_map(|w| (0..WRITES).map(move |i| (w * 1000 + i) as i64))
        .sum();
    assert_eq!(tally.total, sum, "every write landed once");
    assert!(missed > 0, "the writers interleaved");
    println!(
        "{WRITERS} unchecked writers x {WRITES}: {missed} missed events caught up, \
         {} statements",
        WRITERS * WRITES
    );
}

/// Waits (at most 10 s) until backend `pid` waits for a lock.
pub(crate) async fn wait_until_blocked(observer: &PgPool, pid: i32) {
    let waiting = async {
        loop {
            let wait: Option<String> =
                sqlx::query_scalar("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1")
                    .bind(pid)
                    .fetch_optional(observer)
                    .await
                    .unwrap()
                    .flatten();
            if wait.as_deref() == Some("Lock") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the writer blocks on the other writer's row lock");
}

/// The backend of a one-connection pool.
pub(crate) async fn backend_pid(pool: &PgPool) -> i32 {
    sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The case a statement's own snapshot cannot see through: the unchecked
/// writer's statement starts, then waits for the row lock of a writer that
/// stores events and commits; the statement's snapshot predates those
/// events. The stream is read by `es_entity_stream_tail` after the lock is
/// granted, with a fresh snapshot: the write lands after them in its one
/// statement (counted on the writer's own connection), and the entity is
/// refreshed with them, on the pool and inside a transaction alike.
///
/// Mutation check: with the function declared `STABLE` (it then reads with
/// the calling statement's snapshot, as the statement's own subquery
/// would), this test fails: the write finds its sequence taken and reports
/// `LockBypassed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchecked_writer_that_waited_for_the_lock_lands_after_the_holder_in_one_statement() {
    for in_op in [false, true] {
        let pool = es_entity_tests::pool().await;
        let tallies = Tallies::new(&pool);
        let id = tallies.create(NewTally::fresh(vec![])).await.unwrap().id;
        let mut mine = tallies.find_by_id(id).await.unwrap();

        // The other writer takes the row lock first, as `update` does.
        let mut holder = DbOp::init(&pool).await.unwrap();
        sqlx::query("SELECT 1 FROM tallies WHERE id = $1 FOR UPDATE")
            .bind(Uuid::from(id))
            .execute(holder.as_executor())
            .await
            .unwrap();

        let writer_pool = counted_pool().await;
        let pid = backend_pid(&writer_pool).await;
        let writer = Tallies::new(&writer_pool);
        mine.count(100);
        let task = spawn_writer(move || async move {
            let counter = StatementCounter::default();
            let _guard = tracing::subscriber::set_default(counter.clone());
            counter.take();
            let (done, statements) = if in_op {
                let mut op = DbOp::init(&writer_pool).await.unwrap();
                let done = writer.update_unchecked_in_op(&mut op, &mut mine).await;
                let statements = counter.take();
                op.commit().await.unwrap();
                (done, statements)
            } else {
                let done = writer.update_unchecked(&mut mine).await;
                (done, counter.take())
            };
            (done, statements, mine)
        });
        wait_until_blocked(&pool, pid).await;

        let mut theirs = tallies.find_by_id_in_op(&mut holder, id).await.unwrap();
        theirs.count(1);
        theirs.count(2);
        tallies
            .update_in_op(&mut holder, &mut theirs)
            .await
            .unwrap();
        holder.commit().await.unwrap();

        let (done, statements, mine) = task.await.unwrap();
        assert_eq!(
            done.unwrap(),
            UncheckedWrite {
                written: 1,
                missed: 2
            },
            "in_op = {in_op}"
        );
        assert_eq!(statements.len(), 1, "in_op = {in_op}: {statements:#?}");
        assert!(
            statements[0].starts_with("WITH locked AS (SELECT id FROM tallies"),
            "{}",
            statements[0]
        );
        assert_eq!(
            stored_sequences(&pool, "tally_events", id).await,
            [1, 2, 3, 4]
        );
        // Refreshed with the holder's two events, from the function's rows.
        assert_eq!(mine.total, 103);
        assert_eq!(mine.events().len_persisted(), 4);
        assert_eq!(tallies.find_by_id(id).await.unwrap().total, 103);
    }
}

async fn rogue_insert(
    conn: &mut sqlx::PgConnection,
    id: crate::reliability_bad_data::SpecimenId,
    sequence: i32,
) {
    sqlx::query(
        "INSERT INTO specimen_events (id, sequence, event_type, event, recorded_at) \
         VALUES ($1, $2, 'noted', $3, NOW())",
    )
    .bind(Uuid::from(id))
    .bind(sequence)
    .bind(serde_json::json!({"type": "noted", "text": "rogue"}))
    .execute(conn)
    .await
    .unwrap();
}

/// A writer that appends without taking the index row's lock can still
/// take the sequence an unchecked write computed. That is reported as
/// `LockBypassed`, naming the entity, with nothing written: not retried in
/// a loop, not a silent success. (With the events table's foreign key to
/// the index table, which the schema check requires, even a hand-written
/// insert takes a `KEY SHARE` lock on the index row, which the write's
/// `FOR UPDATE` waits for; so the rogue writer here writes `specimen_events`,
/// which has no such key.) Both ways the sequence can be found taken: the
/// first new event (skipped, then reported) and a later one (the key's
/// violation, classified by its constraint).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_bypasses_the_lock_is_a_typed_error() {
    use crate::reliability_bad_data::{NewSpecimen, Specimens};
    let pool = es_entity_tests::pool().await;
    let specimens = Specimens::new(pool.clone());
    for (rogue_sequence, events) in [(2, 1), (3, 2)] {
        let id = specimens
            .create(NewSpecimen::named(unique("bypassed")))
            .await
            .unwrap()
            .id; // version 1
        let mut mine = specimens.find_by_id(id).await.unwrap();

        // Inserted without the row lock, not committed yet.
        let mut rogue = pool.begin().await.unwrap();
        rogue_insert(&mut rogue, id, rogue_sequence).await;

        let writer_pool = pool_of(1).await;
        let pid = backend_pid(&writer_pool).await;
        let writer = Specimens::new(writer_pool);
        let name = unique("mine");
        mine.rename(&name);
        if events == 2 {
            mine.note("second");
        }
        let task = spawn_writer(move || async move {
            let result = writer.update_unchecked(&mut mine).await;
            (result, mine)
        });
        // The write got the row lock, read version 1, and now waits on the
        // key the rogue transaction holds.
        wait_until_blocked(&pool, pid).await;
        rogue.commit().await.unwrap();

        let (result, mine) = task.await.unwrap();
        let err = result.unwrap_err();
        assert!(
            matches!(&err, UncheckedModifyError::LockBypassed { entity_id } if *entity_id == id),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("without holding its index row lock"),
            "{err}"
        );
        assert_eq!(mine.events().len_new(), events, "the events stay unsaved");
        let stored = stored_sequences(&pool, "specimen_events", id).await;
        assert_eq!(stored, [1, rogue_sequence]);
        // (Not loaded: the rogue's sequence 3 left a gap.)
        let stored_name: String = sqlx::query_scalar("SELECT name FROM specimens WHERE id = $1")
            .bind(Uuid::from(id))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_ne!(stored_name, name, "the index row is untouched");
    }

    // A batch: the bypassed member is named, nothing of the batch stored.
    let a = specimens
        .create(NewSpecimen::named(unique("batch_a")))
        .await
        .unwrap()
        .id;
    let b = specimens
        .create(NewSpecimen::named(unique("batch_b")))
        .await
        .unwrap()
        .id;
    let mut batch = vec![
        specimens.find_by_id(a).await.unwrap(),
        specimens.find_by_id(b).await.unwrap(),
    ];
    for s in &mut batch {
        s.note("batch");
    }
    let mut rogue = pool.begin().await.unwrap();
    rogue_insert(&mut rogue, b, 2).await;
    let writer_pool = pool_of(1).await;
    let pid = backend_pid(&writer_pool).await;
    let writer = Specimens::new(writer_pool);
    let task = spawn_writer(move || async move {
        let result = writer.update_all_unchecked(&mut batch).await;
        (result, batch)
    });
    wait_until_blocked(&pool, pid).await;
    rogue.commit().await.unwrap();
    let (result, batch) = task.await.unwrap();
    let err = result.unwrap_err();
    assert!(
        matches!(&err, UncheckedModifyError::LockBypassed { entity_id } if *entity_id == b),
        "{err:?}"
    );
    assert!(batch.iter().all(|s| s.events().len_new() == 1));
    assert_eq!(stored_sequences(&pool, "specimen_events", a).await, [1]);
    assert_eq!(stored_sequences(&pool, "specimen_events", b).await, [1, 2]);

    // A rogue event committed before the write is no bypass: the write's
    // fresh read sees it and appends after it.
    let mut stale = specimens.find_by_id(a).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    rogue_insert(&mut conn, a, 2).await;
    stale.note("mine");
    assert_eq!(
        specimens
            .update_expecting(&mut stale, ExpectedVersion::Any)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        stored_sequences(&pool, "specimen_events", a).await,
        [1, 2, 3]
    );
    assert_eq!(stale.notes, ["rogue", "mine"]);
}

/// Under REPEATABLE READ the function reads with the transaction's
/// snapshot (that is what the isolation level promises), so a stream that
/// moved since that snapshot cannot be appended to: PostgreSQL raises
/// 40001, a typed transient `Sqlx` error, and nothing is written. Both
/// ways: a writer that changed the index row (the lock itself fails) and
/// one that only locked it and appended (the first event's insert fails).
#[tokio::test]
async fn under_repeatable_read_a_moved_stream_is_a_serialization_failure() {
    let pool = es_entity_tests::pool().await;
    fn is_40001<C: EntityColumn>(err: &UncheckedModifyError<C>) -> bool {
        match err {
            UncheckedModifyError::Sqlx(e) => {
                e.as_database_error().and_then(|d| d.code()).as_deref() == Some("40001")
            }
            _ => false,
        }
    }

    // The other writer changes the row's columns (Tally's total).
    let tallies = Tallies::new(&pool);
    let id = tallies.create(NewTally::fresh(vec![])).await.unwrap().id;
    let mut rr = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .await
        .unwrap();
    let mut mine = tallies.find_by_id_in_op(&mut rr, id).await.unwrap(); // snapshot
    let mut theirs = tallies.find_by_id(id).await.unwrap();
    theirs.count(5);
    tallies.update(&mut theirs).await.unwrap();
    mine.count(1);
    let err = tallies
        .update_unchecked_in_op(&mut rr, &mut mine)
        .await
        .unwrap_err();
    assert!(is_40001(&err), "{err:?}");
    assert!(RetryableError::is_transient(&ModifyError::from(err)));
    drop(rr);
    assert_eq!(stored_sequences(&pool, "tally_events", id).await, [1, 2]);

    // The other writer only locks the row (Memo has no updatable column).
    let memos = Memos::new(&pool);
    let id = memos
        .create(NewMemo {
            id: MemoId::new(),
            title: unique("rr"),
        })
        .await
        .unwrap()
        .id;
    let mut rr = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .await
        .unwrap();
    let mut mine = memos.find_by_id_in_op(&mut rr, id).await.unwrap();
    let mut theirs = memos.find_by_id(id).await.unwrap();
    theirs.retitle("theirs");
    memos.update(&mut theirs).await.unwrap();
    mine.retitle("mine");
    let err = memos
        .update_unchecked_in_op(&mut rr, &mut mine)
        .await
        .unwrap_err();
    assert!(is_40001(&err), "{err:?}");
    drop(rr);
    assert_eq!(stored_sequences(&pool, "memo_events", id).await, [1, 2]);
}
