//! Optimistic concurrency: two writers of one entity, the loser gets
//! `ConcurrentModification` and writes nothing; sequences stay gap-free.

use std::sync::Arc;

use es_entity::*;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::repo_fixtures::*;

/// The `event` JSON of every stored event of a member, in sequence order.
async fn member_event_json(pool: &sqlx::PgPool, id: MemberId) -> Vec<serde_json::Value> {
    sqlx::query_scalar("SELECT event FROM member_events WHERE id = $1 ORDER BY sequence")
        .bind(Uuid::from(id))
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_second_of_two_stale_copies_gets_concurrent_modification() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let id = members.create(NewMember::fresh()).await.unwrap().id;
    let mut first = members.find_by_id(id).await.unwrap();
    let mut second = members.find_by_id(id).await.unwrap();
    let (region_a, region_b) = (unique("a"), unique("b"));

    first.change_region(&region_a);
    second.change_region(&region_b);
    second.note("the loser's second event");
    assert_eq!(members.update(&mut first).await.unwrap(), 1);
    let err = members.update(&mut second).await.unwrap_err();

    match &err {
        ModifyError::ConcurrentModification {
            entity_id,
            expected_sequence,
            expected_version,
            actual_version,
        } => {
            assert_eq!(*entity_id, id);
            assert_eq!(*expected_sequence, 2);
            assert_eq!((*expected_version, *actual_version), (1, Some(2)));
        }
        other => panic!("expected ConcurrentModification, got {other:?}"),
    }
    assert!(err.is_concurrent_modification());
    assert!(!err.was_duplicate(), "a lost race is not a duplicate");
    let shown = err.to_string();
    assert!(
        shown.contains("Member") && shown.contains(&id.to_string()),
        "{shown}"
    );

    // Nothing of the loser was persisted: neither its events nor its column values.
    assert_eq!(stored_sequences(&pool, "member_events", id).await, [1, 2]);
    assert_eq!(
        member_event_json(&pool, id).await[1]["region"],
        region_a.as_str()
    );
    assert_eq!(member_row(&pool, id).await.region, region_a);
    assert_eq!(
        (second.events().len_persisted(), second.events().len_new()),
        (1, 2)
    );

    // Reload and retry: succeeds after the winner.
    let mut retry = members.find_by_id(id).await.unwrap();
    assert_eq!(retry.region, region_a);
    retry.change_region(&region_b);
    assert_eq!(members.update(&mut retry).await.unwrap(), 1);
    assert_eq!(
        stored_sequences(&pool, "member_events", id).await,
        [1, 2, 3]
    );
    assert_eq!(member_row(&pool, id).await.region, region_b);
    assert_eq!(
        retry
            .events()
            .iter_persisted()
            .map(|e| e.sequence)
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );

    // The stale copy keeps losing, now expecting sequence 2 still.
    let err = members.update(&mut second).await.unwrap_err();
    assert!(
        matches!(
            err,
            ModifyError::ConcurrentModification {
                expected_sequence: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        stored_sequences(&pool, "member_events", id).await,
        [1, 2, 3]
    );
}

#[tokio::test]
async fn a_stale_copy_with_more_history_conflicts_at_its_next_sequence() {
    let pool = es_entity_tests::pool().await;
    let tallies = Tallies::new(&pool);
    let mut tally = tallies.create(NewTally::fresh(vec![1, 1])).await.unwrap();
    let mut stale = tallies.find_by_id(tally.id).await.unwrap();
    tally.count(1);
    tally.count(1);
    tallies.update(&mut tally).await.unwrap();

    stale.count(5);
    let err = tallies.update(&mut stale).await.unwrap_err();
    assert!(
        matches!(&err, ModifyError::ConcurrentModification { entity_id, expected_sequence: 4, .. } if *entity_id == tally.id),
        "{err:?}"
    );
    assert_eq!(
        stored_sequences(&pool, "tally_events", tally.id).await,
        [1, 2, 3, 4, 5]
    );
    assert_eq!(tallies.find_by_id(tally.id).await.unwrap().total, 4);
}

/// The winner's transaction is still open when the loser writes: the loser
/// waits on the row (or on the events' unique index), then fails once the
/// winner commits.
async fn loser_waits_for_the_open_winner(with_columns: bool) {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let memos = Memos::new(&pool);
    let member_id = members.create(NewMember::fresh()).await.unwrap().id;
    let memo_id = memos
        .create(NewMemo {
            id: MemoId::new(),
            title: unique("memo"),
        })
        .await
        .unwrap()
        .id;

    let mut winner_tx = pool.begin().await.unwrap();
    let loser = if with_columns {
        let mut winner = members.find_by_id(member_id).await.unwrap();
        let mut loser = members.find_by_id(member_id).await.unwrap();
        winner.change_credit_limit(1);
        members
            .update_in_op(&mut winner_tx, &mut winner)
            .await
            .unwrap();
        loser.change_credit_limit(2);
        let members = members.clone();
        tokio::spawn(async move {
            members
                .update(&mut loser)
                .await
                .map_err(|e| format!("{e:?}"))
        })
    } else {
        let mut winner = memos.find_by_id(memo_id).await.unwrap();
        let mut loser = memos.find_by_id(memo_id).await.unwrap();
        winner.retitle("winner");
        memos
            .update_in_op(&mut winner_tx, &mut winner)
            .await
            .unwrap();
        loser.retitle("loser");
        let pool = pool.clone();
        tokio::spawn(async move {
            Memos::new(&pool)
                .update(&mut loser)
                .await
                .map_err(|e| format!("{e:?}"))
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        !loser.is_finished(),
        "the loser should be blocked by the open winner"
    );
    winner_tx.commit().await.unwrap();

    let err = loser.await.unwrap().unwrap_err();
    assert!(err.starts_with("ConcurrentModification"), "{err}");
    if with_columns {
        assert_eq!(member_row(&pool, member_id).await.credit_limit, 1);
        assert_eq!(
            stored_sequences(&pool, "member_events", member_id).await,
            [1, 2]
        );
    } else {
        assert_eq!(
            stored_sequences(&pool, "memo_events", memo_id).await,
            [1, 2]
        );
        assert_eq!(memos.find_by_id(memo_id).await.unwrap().title, "winner");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loser_waits_for_the_open_winner_then_fails() {
    loser_waits_for_the_open_winner(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loser_waits_for_the_open_winner_then_fails_without_updatable_columns() {
    loser_waits_for_the_open_winner(false).await;
}

#[tokio::test]
async fn schema_qualified_events_table_conflict_is_concurrent_modification() {
    let pool = es_entity_tests::pool().await;
    let vouchers = Vouchers::new(&pool);
    let id = vouchers
        .create(NewVoucher {
            id: VoucherId::new(),
            code: unique("V"),
        })
        .await
        .unwrap()
        .id;
    let mut first = vouchers.find_by_id(id).await.unwrap();
    let mut second = vouchers.find_by_id(id).await.unwrap();
    first.redeem("first");
    second.redeem("second");
    vouchers.update(&mut first).await.unwrap();

    let err = vouchers.update(&mut second).await.unwrap_err();
    assert!(
        matches!(&err, ModifyError::ConcurrentModification { entity_id, expected_sequence: 2, .. } if *entity_id == id),
        "events_tbl = \"repo_test.voucher_events\": got {err:?}"
    );
    assert_eq!(
        stored_sequences(&pool, "repo_test.voucher_events", id).await,
        [1, 2]
    );
}

const WRITERS: usize = 8;

/// Runs the future `make_writer` builds on its own thread of the test's
/// multi-thread runtime (sharing the runtime's I/O driver and the pool).
///
/// Not `tokio::spawn`: the futures of the generated `find_by_*` are not
/// `Send` (see `find_by_futures_are_send` below), so a task that loads an
/// entity cannot be spawned. `spawn_blocking` + `Handle::block_on` runs the
/// writers in parallel without requiring the future to be `Send`.
fn spawn_writer<T, F>(
    make_writer: impl FnOnce() -> F + Send + 'static,
) -> tokio::task::JoinHandle<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = T>,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || handle.block_on(make_writer()))
}

async fn writers_pool() -> sqlx::PgPool {
    es_entity_tests::pool().await; // created and migrated
    PgPoolOptions::new()
        .max_connections(WRITERS as u32)
        .min_connections(WRITERS as u32)
        .connect_with(es_entity_tests::connect_options())
        .await
        .expect("writers pool")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_exactly_one_wins_each_round() {
    let pool = writers_pool().await;
    let members = Members::new(&pool);
    let id = members.create(NewMember::fresh()).await.unwrap().id;
    let barrier = Arc::new(Barrier::new(WRITERS));

    let tasks: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (members, barrier) = (members.clone(), barrier.clone());
            spawn_writer(move || async move {
                let mut member = members.find_by_id(id).await.unwrap();
                member.change_credit_limit(1000 + i as i64);
                barrier.wait().await; // everyone has loaded sequence 1
                members.update(&mut member).await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(written) => {
                assert_eq!(written, 1);
                winners.push(i);
            }
            Err(ModifyError::ConcurrentModification {
                entity_id,
                expected_sequence,
                expected_version,
                actual_version,
            }) => {
                assert_eq!((entity_id, expected_sequence), (id, 2));
                // Read after the failure: the one winner took the stream to 2.
                assert_eq!((expected_version, actual_version), (1, Some(2)));
            }
            Err(other) => panic!("writer {i}: unexpected {other:?}"),
        }
    }

    assert_eq!(winners.len(), 1, "exactly one writer wins: {winners:?}");
    let winner = winners[0] as i64;
    assert_eq!(stored_sequences(&pool, "member_events", id).await, [1, 2]);
    assert_eq!(
        member_event_json(&pool, id).await[1]["credit_limit"],
        1000 + winner
    );
    assert_eq!(member_row(&pool, id).await.credit_limit, 1000 + winner);
    assert_eq!(
        members.find_by_id(id).await.unwrap().credit_limit,
        1000 + winner
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_retrying_lose_no_update() {
    let pool = writers_pool().await;
    let members = Members::new(&pool);
    let id = members.create(NewMember::fresh()).await.unwrap().id;
    let barrier = Arc::new(Barrier::new(WRITERS));

    let tasks: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (members, barrier) = (members.clone(), barrier.clone());
            spawn_writer(move || async move {
                let mut conflicts = 0usize;
                loop {
                    let mut member = members.find_by_id(id).await.unwrap();
                    let next = member.credit_limit + 1; // read-modify-write
                    member.change_credit_limit(next);
                    if conflicts == 0 {
                        barrier.wait().await;
                    }
                    match members.update(&mut member).await {
                        Ok(1) => return conflicts,
                        Ok(n) => panic!("wrote {n} events"),
                        Err(e) if e.is_concurrent_modification() => conflicts += 1,
                        Err(e) => panic!("unexpected {e:?}"),
                    }
                    assert!(conflicts < 100, "no progress");
                }
            })
        })
        .collect();
    let mut conflicts = 0;
    for task in tasks {
        conflicts += task.await.unwrap();
    }

    assert!(
        conflicts >= WRITERS - 1,
        "the first round has one winner: {conflicts} conflicts"
    );
    let expected: Vec<i32> = (1..=WRITERS as i32 + 1).collect();
    assert_eq!(stored_sequences(&pool, "member_events", id).await, expected);
    // Every increment landed, each on top of the previous one.
    let limits: Vec<i64> = member_event_json(&pool, id).await[1..]
        .iter()
        .map(|e| e["credit_limit"].as_i64().unwrap())
        .collect();
    assert_eq!(limits, (101..=100 + WRITERS as i64).collect::<Vec<_>>());
    assert_eq!(
        member_row(&pool, id).await.credit_limit,
        100 + WRITERS as i64
    );
    assert_eq!(
        members.find_by_id(id).await.unwrap().credit_limit,
        100 + WRITERS as i64
    );
}

/// The future of every generated `find_by_*` / `maybe_find_by_*` (and
/// their `_in_op` variants, on a pool or a transaction) is `Send`: it can be
/// `tokio::spawn`ed and used in handlers that need `Send` futures.
mod find_by_futures_are_send {
    use super::*;

    fn assert_send<T: Send>(t: T) -> T {
        t
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn find_by_futures_are_send() {
        let pool = es_entity_tests::pool().await;
        let members = Members::new(&pool);
        let id = members.create(NewMember::fresh()).await.unwrap().id;
        let (m, p) = (members.clone(), pool.clone());
        let found = tokio::spawn(async move {
            let a = m.find_by_id(id).await.unwrap().id;
            let b = m.maybe_find_by_id(id).await.unwrap().unwrap().id;
            let c = m.find_by_id_in_op(&p, id).await.unwrap().id;
            let mut tx = p.begin().await.unwrap();
            let d = m.find_by_id_in_op(&mut tx, id).await.unwrap().id;
            [a, b, c, d]
        });
        assert_eq!(assert_send(found).await.unwrap(), [id; 4]);
    }
}

#[tokio::test]
async fn conflicts_are_recognised_with_prefixed_and_custom_events_tables() {
    let pool = es_entity_tests::pool().await;

    // tbl_prefix = "app": events in app_gizmo_events.
    let gizmos = Gizmos::new(&pool);
    let id = gizmos
        .create(NewGizmo {
            id: GizmoId::new(),
            label: unique("g"),
        })
        .await
        .unwrap()
        .id;
    let (mut a, mut b) = (
        gizmos.find_by_id(id).await.unwrap(),
        gizmos.find_by_id(id).await.unwrap(),
    );
    a.relabel(&unique("ga"));
    b.relabel(&unique("gb"));
    gizmos.update(&mut a).await.unwrap();
    let err = gizmos.update(&mut b).await.unwrap_err();
    assert!(
        matches!(
            err,
            ModifyError::ConcurrentModification {
                expected_sequence: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        stored_sequences(&pool, "app_gizmo_events", id).await,
        [1, 2]
    );

    // events_tbl = "shipping_parcel_log".
    let parcels = Parcels::new(&pool);
    let id = parcels
        .create(NewParcel {
            id: ParcelNo::new(),
            tracking: unique("T"),
            weight_grams: 1,
        })
        .await
        .unwrap()
        .id;
    let (mut a, mut b) = (
        parcels.find_by_id(id).await.unwrap(),
        parcels.find_by_id(id).await.unwrap(),
    );
    a.reweigh(2);
    b.reweigh(3);
    parcels.update(&mut a).await.unwrap();
    let err = parcels.update(&mut b).await.unwrap_err();
    assert!(
        matches!(
            err,
            ModifyError::ConcurrentModification {
                expected_sequence: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        stored_sequences(&pool, "shipping_parcel_log", id).await,
        [1, 2]
    );
}
