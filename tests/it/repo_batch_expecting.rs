//! Batches with an expectation per entity (`update_all_expecting` with
//! any `ExpectedVersion`) and unchecked batches (`update_all_unchecked`),
//! against real PostgreSQL with real concurrent connections: one statement
//! each, conflicts naming the entity, unchecked members appended after what
//! their streams hold and refreshed with it.

use std::sync::Arc;

use es_entity::*;
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::repo_fixtures::*;
use crate::repo_round_trips::{StatementCounter, counted_pool};
use crate::repo_versions::{backend_pid, pool_of, wait_until_blocked};

/// As `repo_versions::spawn_writer`: the future runs on a blocking thread
/// of the test's runtime (the generated `find_by_*` futures are not `Send`).
fn spawn_writer<T, F>(make: impl FnOnce() -> F + Send + 'static) -> tokio::task::JoinHandle<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = T>,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || handle.block_on(make()))
}

async fn new_tally(tallies: &Tallies, counts: Vec<i64>) -> TallyId {
    tallies.create(NewTally::fresh(counts)).await.unwrap().id
}

/// Another writer appends `by` to the tally (one event), checked.
async fn bump(tallies: &Tallies, id: TallyId, by: i64) {
    let mut other = tallies.find_by_id(id).await.unwrap();
    other.count(by);
    tallies.update(&mut other).await.unwrap();
}

#[tokio::test]
async fn mixed_expectations_are_one_statement_and_each_gets_its_semantics() {
    let pool = counted_pool().await;
    let tallies = Tallies::new(&pool);
    let exact = new_tally(&tallies, vec![]).await; // version 1
    let any = new_tally(&tallies, vec![]).await;
    let exists = new_tally(&tallies, vec![1]).await; // version 2
    let mut batch = vec![
        tallies.find_by_id(exact).await.unwrap(),
        tallies.find_by_id(any).await.unwrap(),
        tallies.find_by_id(exists).await.unwrap(),
    ];
    // `any` and `exists` move on after the batch was loaded.
    bump(&tallies, any, 10).await;
    bump(&tallies, any, 20).await;
    bump(&tallies, exists, 5).await;
    for t in &mut batch {
        t.count(100);
    }
    batch[1].count(200); // two events for `any`

    let counter = StatementCounter::default();
    let _guard = tracing::subscriber::set_default(counter.clone());
    counter.take();
    let written = tallies
        .update_all_expecting(&mut batch, |t| {
            if t.id == exact {
                ExpectedVersion::Exact(1)
            } else if t.id == any {
                ExpectedVersion::Any
            } else {
                ExpectedVersion::StreamExists
            }
        })
        .await
        .unwrap();
    let seen = counter.take();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert!(
        seen[0].starts_with("WITH rows AS MATERIALIZED"),
        "{}",
        seen[0]
    );
    assert_eq!(written, 4);

    assert_eq!(stored_sequences(&pool, "tally_events", exact).await, [1, 2]);
    assert_eq!(
        stored_sequences(&pool, "tally_events", any).await,
        [1, 2, 3, 4, 5]
    );
    assert_eq!(
        stored_sequences(&pool, "tally_events", exists).await,
        [1, 2, 3, 4]
    );
    // The unchecked members were refreshed with what they missed.
    assert_eq!(
        (batch[0].total, batch[1].total, batch[2].total),
        (100, 330, 106)
    );
    for t in &batch {
        let stored = tallies.find_by_id(t.id).await.unwrap();
        assert_eq!(stored.total, t.total);
        assert_eq!(stored.events().len_persisted(), t.events().len_persisted());
        assert!(!t.events().any_new());
    }
}

#[tokio::test]
async fn an_exact_member_that_lost_fails_the_whole_mixed_batch_naming_it() {
    let pool = es_entity_tests::pool().await;
    let tallies = Tallies::new(&pool);
    let a = new_tally(&tallies, vec![]).await;
    let b = new_tally(&tallies, vec![]).await;
    let mut batch = vec![
        tallies.find_by_id(a).await.unwrap(),
        tallies.find_by_id(b).await.unwrap(),
    ];
    bump(&tallies, a, 1).await; // a's stream moved: the exact member loses
    bump(&tallies, b, 1).await;
    for t in &mut batch {
        t.count(7);
    }
    let err = tallies
        .update_all_expecting(&mut batch, |t| {
            if t.id == a {
                ExpectedVersion::Exact(1)
            } else {
                ExpectedVersion::Any
            }
        })
        .await
        .unwrap_err();
    match &err {
        ModifyError::ConcurrentModification { entity_id, .. } => assert_eq!(*entity_id, a),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(err.conflict_versions(), Some((1, Some(2))));
    // Nothing written, the unchecked member included; all events still new.
    assert_eq!(stored_sequences(&pool, "tally_events", a).await, [1, 2]);
    assert_eq!(stored_sequences(&pool, "tally_events", b).await, [1, 2]);
    assert!(batch.iter().all(|t| t.events().len_new() == 1));

    // An exact version that is not the loaded one: found before sending.
    let err = tallies
        .update_all_expecting(&mut batch, |t| if t.id == a { 5 } else { 1 })
        .await
        .unwrap_err();
    assert_eq!(err.conflict_versions(), Some((5, Some(2))));
}

#[tokio::test]
async fn unchecked_batches_append_refresh_and_name_a_missing_entity() {
    let pool = counted_pool().await;
    let tallies = Tallies::new(&pool);
    let a = new_tally(&tallies, vec![]).await;
    let b = new_tally(&tallies, vec![2]).await;
    let mut batch = vec![
        tallies.find_by_id(a).await.unwrap(),
        tallies.find_by_id(b).await.unwrap(),
    ];
    bump(&tallies, b, 3).await;
    batch[0].count(1);
    batch[1].count(4);
    batch[1].count(5);

    let counter = StatementCounter::default();
    let _guard = tracing::subscriber::set_default(counter.clone());
    counter.take();
    let done = tallies.update_all_unchecked(&mut batch).await.unwrap();
    assert_eq!(counter.take().len(), 1, "one statement");
    assert_eq!(
        done,
        UncheckedWrite {
            written: 3,
            missed: 1
        }
    );
    assert_eq!(stored_sequences(&pool, "tally_events", a).await, [1, 2]);
    assert_eq!(
        stored_sequences(&pool, "tally_events", b).await,
        [1, 2, 3, 4, 5]
    );
    assert_eq!((batch[0].total, batch[1].total), (1, 14));
    counter.take();

    // Nothing new: nothing sent.
    assert_eq!(
        tallies.update_all_unchecked(&mut batch).await.unwrap(),
        UncheckedWrite::default()
    );
    assert_eq!(counter.take().len(), 0);

    // In a transaction: one statement too.
    let mut op = DbOp::init(&pool).await.unwrap();
    batch[0].count(1);
    tallies
        .update_all_unchecked_in_op(&mut op, &mut batch)
        .await
        .unwrap();
    assert_eq!(counter.take().len(), 1);
    op.commit().await.unwrap();
    counter.take();

    // A member whose index row does not exist: named, nothing stored.
    let mut ghost =
        Tally::try_from_events(NewTally::fresh(vec![]).into_events()).expect("hydrates");
    ghost.count(1);
    let ghost_id = ghost.id;
    batch[1].count(1);
    let mut with_ghost = vec![batch.remove(1), ghost];
    let err = tallies
        .update_all_unchecked(&mut with_ghost)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, UncheckedModifyError::EntityNotFound { entity_id } if *entity_id == ghost_id),
        "{err:?}"
    );
    assert_eq!(
        stored_sequences(&pool, "tally_events", b).await,
        [1, 2, 3, 4, 5]
    );

    // Two copies of one entity with new events.
    let mut twins = vec![
        tallies.find_by_id(a).await.unwrap(),
        tallies.find_by_id(a).await.unwrap(),
    ];
    for t in &mut twins {
        t.count(1);
    }
    let err = tallies.update_all_unchecked(&mut twins).await.unwrap_err();
    assert!(
        matches!(&err, UncheckedModifyError::DuplicateEntity { entity_id } if *entity_id == a),
        "{err:?}"
    );
}

/// The batch waits for a single writer's row lock; that writer stores two
/// events and commits. The batch's statement reads each unchecked stream
/// after its lock was granted, so it lands after them, in one statement,
/// and refreshes the entity with them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchecked_batch_that_waited_for_a_single_writer_lands_after_it() {
    let pool = es_entity_tests::pool().await;
    let tallies = Tallies::new(&pool);
    let a = new_tally(&tallies, vec![]).await;
    let b = new_tally(&tallies, vec![]).await;
    let mut batch = vec![
        tallies.find_by_id(a).await.unwrap(),
        tallies.find_by_id(b).await.unwrap(),
    ];
    for t in &mut batch {
        t.count(100);
    }
    let mut holder = DbOp::init(&pool).await.unwrap();
    sqlx::query("SELECT 1 FROM tallies WHERE id = $1 FOR UPDATE")
        .bind(Uuid::from(b))
        .execute(holder.as_executor())
        .await
        .unwrap();

    let writer_pool = counted_pool().await;
    let pid = backend_pid(&writer_pool).await;
    let task = spawn_writer(move || async move {
        let counter = StatementCounter::default();
        let _guard = tracing::subscriber::set_default(counter.clone());
        counter.take();
        let writer = Tallies::new(&writer_pool);
        let done = writer.update_all_unchecked(&mut batch).await;
        (done, counter.take(), batch)
    });
    wait_until_blocked(&pool, pid).await;
    let mut theirs = tallies.find_by_id_in_op(&mut holder, b).await.unwrap();
    theirs.count(1);
    theirs.count(2);
    tallies
        .update_in_op(&mut holder, &mut theirs)
        .await
        .unwrap();
    holder.commit().await.unwrap();

    let (done, statements, batch) = task.await.unwrap();
    assert_eq!(
        done.unwrap(),
        UncheckedWrite {
            written: 2,
            missed: 2
        }
    );
    assert_eq!(statements.len(), 1, "{statements:#?}");
    assert_eq!(stored_sequences(&pool, "tally_events", a).await, [1, 2]);
    assert_eq!(
        stored_sequences(&pool, "tally_events", b).await,
        [1, 2, 3, 4]
    );
    assert_eq!((batch[0].total, batch[1].total), (100, 103));
}

/// Batches race single writers on the same entities, all on their own
/// connections: unchecked batches, mixed batches (exact members retried on a
/// conflict) and single `update_unchecked` / `update` writers. Every write
/// lands once, the streams stay gap-free, every batch is one statement.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batches_race_single_writers_and_every_write_lands_once() {
    const ENTITIES: usize = 4;
    const ROUNDS: usize = 8;
    let pool = pool_of(2).await;
    let tallies = Tallies::new(&pool);
    let mut ids = Vec::new();
    for _ in 0..ENTITIES {
        ids.push(new_tally(&tallies, vec![]).await);
    }
    let ids = Arc::new(ids);
    let barrier = Arc::new(Barrier::new(4));
    let mut tasks = Vec::new();
    // Two batch writers, two single writers.
    for w in 0..4usize {
        let (ids, barrier) = (ids.clone(), barrier.clone());
        let own = counted_pool().await;
        tasks.push(spawn_writer(move || async move {
            let counter = StatementCounter::default();
            let _guard = tracing::subscriber::set_default(counter.clone());
            let tallies = Tallies::new(&own);
            barrier.wait().await;
            let mut applied: i64 = 0;
            let mut conflicts = 0;
            for round in 0..ROUNDS {
                let amount = (w * 1000 + round + 1) as i64;
                match w {
                    0 => {
                        // Unchecked batch over every entity.
                        let mut batch = Vec::new();
                        for id in ids.iter() {
                            batch.push(tallies.find_by_id(*id).await.unwrap());
                        }
                        for t in &mut batch {
                            t.count(amount);
                        }
                        counter.take();
                        tallies.update_all_unchecked(&mut batch).await.unwrap();
                        assert_eq!(counter.take().len(), 1, "one statement per batch");
                        applied += amount * ENTITIES as i64;
                    }
                    1 => {
                        // Mixed batch: the first entity exact, the others any.
                        loop {
                            let mut batch = Vec::new();
                            for id in ids.iter() {
                                batch.push(tallies.find_by_id(*id).await.unwrap());
                            }
                            for t in &mut batch {
                                t.count(amount);
                            }
                            let first = ids[0];
                            let expect = |t: &Tally| {
                                if t.id == first {
                                    ExpectedVersion::of(t)
                                } else {
                                    ExpectedVersion::Any
                                }
                            };
                            counter.take();
                            let result = tallies.update_all_expecting(&mut batch, expect).await;
                            let seen = counter.take();
                            match result {
                                Ok(_) => {
                                    assert_eq!(seen.len(), 1, "one statement per batch");
                                    break;
                                }
                                Err(e) if e.is_concurrent_modification() => {
                                    // The statement and the version read after it.
                                    assert_eq!(seen.len(), 2, "{seen:#?}");
                                    conflicts += 1;
                                }
                                Err(e) => panic!("{e:?}"),
                            }
                        }
                        applied += amount * ENTITIES as i64;
                    }
                    2 => {
                        // Single unchecked writes, one entity after another.
                        let id = ids[round % ENTITIES];
                        let mut t = tallies.find_by_id(id).await.unwrap();
                        t.count(amount);
                        tallies.update_unchecked(&mut t).await.unwrap();
                        applied += amount;
                    }
                    _ => {
                        // Single checked writes, retried on conflicts.
                        let id = ids[(round + 1) % ENTITIES];
                        loop {
                            let mut t = tallies.find_by_id(id).await.unwrap();
                            t.count(amount);
                            match tallies.update(&mut t).await {
                                Ok(_) => break,
                                Err(e) if e.is_concurrent_modification() => conflicts += 1,
                                Err(e) => panic!("{e:?}"),
                            }
                        }
                        applied += amount;
                    }
                }
            }
            (applied, conflicts)
        }));
    }
    let (mut applied, mut conflicts) = (0, 0);
    for task in tasks {
        let (a, c) = task.await.unwrap();
        applied += a;
        conflicts += c;
    }
    let mut total = 0;
    let mut events = 0;
    for id in ids.iter() {
        let stored = stored_sequences(&pool, "tally_events", *id).await;
        let expected: Vec<i32> = (1..=stored.len() as i32).collect();
        assert_eq!(stored, expected, "gap-free");
        events += stored.len() - 1;
        total += tallies.find_by_id(*id).await.unwrap().total;
    }
    assert_eq!(total, applied, "every write landed once");
    assert_eq!(events, 2 * ROUNDS * ENTITIES + 2 * ROUNDS);
    println!("batch race: {events} events, {conflicts} conflicts retried");
}
