//! `create_all` / `update_all`: one statement per batch, all or nothing.

use es_entity::*;

use crate::quickstart::{NewUser, User, UserColumn, UserId, Users};
use crate::repo_round_trips::counting;

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", UserId::new())
}

fn new_users(n: usize) -> Vec<NewUser> {
    (0..n)
        .map(|i| NewUser {
            id: UserId::new(),
            name: unique(&format!("bulk{i}")),
        })
        .collect()
}

async fn count_rows(pool: &sqlx::PgPool, ids: &[UserId]) -> (i64, i64) {
    let ids: Vec<uuid::Uuid> = ids.iter().map(|id| (*id).into()).collect();
    let index: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = ANY($1)")
        .bind(&ids)
        .fetch_one(pool)
        .await
        .unwrap();
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM user_events WHERE id = ANY($1)")
        .bind(&ids)
        .fetch_one(pool)
        .await
        .unwrap();
    (index, events)
}

#[tokio::test]
async fn create_all_and_update_all_round_trip() -> Result<(), Box<dyn std::error::Error>> {
    let pool = es_entity_tests::pool().await;
    let users = Users::new(pool.clone());
    // ANCHOR: bulk
    let created: Vec<User> = users.create_all(new_users(3)).await?;
    assert_eq!(created.len(), 3);
    assert!(created.iter().all(|u| u.events().len_persisted() == 1));

    let mut loaded: Vec<User> = Vec::new();
    for u in &created {
        loaded.push(users.find_by_id(u.id).await?);
    }
    // Only entities with new events are written.
    let _ = loaded[0].update_name(unique("renamed0"));
    let _ = loaded[2].update_name(unique("renamed2"));
    assert_eq!(users.update_all(&mut loaded).await?, 2);
    assert_eq!(users.update_all(&mut loaded).await?, 0); // nothing new: no statement
    // ANCHOR_END: bulk
    for u in &loaded {
        let stored = users.find_by_id(u.id).await?;
        assert_eq!(stored.name, u.name);
        assert_eq!(stored.events().len_persisted(), u.events().len_persisted());
    }
    Ok(())
}

#[tokio::test]
async fn each_batch_is_one_statement_and_empty_batches_none() {
    counting(|pool, counter| async move {
        let users = Users::new(pool);
        let none = users.create_all(Vec::new()).await.unwrap();
        assert!(none.is_empty());
        assert_eq!(counter.take().len(), 0, "empty create_all sends nothing");

        let mut created = users.create_all(new_users(500)).await.unwrap();
        assert_eq!(created.len(), 500);
        assert_eq!(
            counter.take().len(),
            1,
            "create_all of 500 is one statement"
        );

        assert_eq!(users.update_all(&mut created).await.unwrap(), 0);
        assert_eq!(
            counter.take().len(),
            0,
            "update_all with nothing new sends nothing"
        );

        for (i, u) in created.iter_mut().enumerate() {
            let _ = u.update_name(unique(&format!("n{i}")));
        }
        assert_eq!(users.update_all(&mut created).await.unwrap(), 500);
        assert_eq!(
            counter.take().len(),
            1,
            "update_all of 500 is one statement"
        );
    })
    .await;
}

#[tokio::test]
async fn many_new_events_per_entity_keep_exact_sequences() -> Result<(), Box<dyn std::error::Error>>
{
    let users = Users::new(es_entity_tests::pool().await);
    let mut batch = users.create_all(new_users(4)).await?;
    let mut last_names = Vec::new();
    for (i, u) in batch.iter_mut().enumerate() {
        // Entity i gets i + 5 renames in this one batch.
        let mut last = String::new();
        for k in 0..(i + 5) {
            last = unique(&format!("e{i}k{k}"));
            let _ = u.update_name(&last);
        }
        last_names.push(last);
    }
    assert_eq!(users.update_all(&mut batch).await?, 5 + 6 + 7 + 8);
    for (i, u) in batch.iter().enumerate() {
        let stored = users.find_by_id(u.id).await?;
        let sequences: Vec<_> = stored
            .events()
            .iter_persisted()
            .map(|e| e.sequence)
            .collect();
        assert_eq!(sequences, (1..=i + 6).collect::<Vec<_>>());
        assert_eq!(stored.name, last_names[i], "events replayed in order");
    }
    Ok(())
}

#[tokio::test]
async fn a_duplicate_fails_the_whole_create_all() {
    let pool = es_entity_tests::pool().await;
    let users = Users::new(pool.clone());
    let taken = users
        .create(NewUser {
            id: UserId::new(),
            name: unique("taken"),
        })
        .await
        .unwrap();

    // Against an existing row.
    let mut batch = new_users(3);
    batch[1].name = taken.name.clone();
    let ids: Vec<_> = batch.iter().map(|n| n.id).collect();
    let err = users.create_all(batch).await.unwrap_err();
    assert!(err.was_duplicate_by(UserColumn::Name), "{err:?}");
    assert_eq!(err.duplicate_value(), Some(taken.name.as_str()));
    assert_eq!(
        count_rows(&pool, &ids).await,
        (0, 0),
        "nothing of the batch is stored"
    );

    // Inside the batch.
    let mut batch = new_users(3);
    batch[2].name = batch[0].name.clone();
    let ids: Vec<_> = batch.iter().map(|n| n.id).collect();
    let err = users.create_all(batch).await.unwrap_err();
    assert!(err.was_duplicate_by(UserColumn::Name), "{err:?}");
    assert_eq!(count_rows(&pool, &ids).await, (0, 0));

    // The same id twice.
    let mut batch = new_users(2);
    batch[1].id = batch[0].id;
    let ids: Vec<_> = batch.iter().map(|n| n.id).collect();
    let err = users.create_all(batch).await.unwrap_err();
    assert!(err.was_duplicate_by(UserColumn::Id), "{err:?}");
    assert_eq!(count_rows(&pool, &ids).await, (0, 0));
}

#[tokio::test]
async fn a_stale_entity_fails_the_whole_update_all_and_is_named() {
    let pool = es_entity_tests::pool().await;
    let users = Users::new(pool.clone());
    let created = users.create_all(new_users(3)).await.unwrap();
    let ids: Vec<_> = created.iter().map(|u| u.id).collect();
    let mut batch = Vec::new();
    for id in &ids {
        batch.push(users.find_by_id(*id).await.unwrap());
    }
    // Someone else updates the middle entity first.
    let mut other = users.find_by_id(ids[1]).await.unwrap();
    let _ = other.update_name(unique("other"));
    users.update(&mut other).await.unwrap();

    for u in &mut batch {
        let _ = u.update_name(unique("mine"));
    }
    let before = count_rows(&pool, &ids).await;
    match users.update_all(&mut batch).await {
        Err(ModifyError::ConcurrentModification {
            entity_id,
            expected_sequence,
            expected_version,
            actual_version,
        }) => {
            assert_eq!(entity_id, ids[1]);
            assert_eq!(expected_sequence, 2);
            assert_eq!((expected_version, actual_version), (1, Some(2)));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        count_rows(&pool, &ids).await,
        before,
        "nothing of the batch is stored"
    );
    assert!(
        batch.iter().all(|u| u.events().any_new()),
        "events stay unpersisted"
    );
    assert_ne!(users.find_by_id(ids[0]).await.unwrap().name, batch[0].name);
}

#[tokio::test]
async fn a_vanished_row_fails_the_whole_update_all_and_is_named() {
    let pool = es_entity_tests::pool().await;
    let users = Users::new(pool.clone());
    let mut batch = users.create_all(new_users(3)).await.unwrap();
    let gone = batch[2].id;
    let raw: uuid::Uuid = gone.into();
    sqlx::query("DELETE FROM user_events WHERE id = $1")
        .bind(raw)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(raw)
        .execute(&pool)
        .await
        .unwrap();
    for u in &mut batch {
        let _ = u.update_name(unique("x"));
    }
    let ids: Vec<_> = batch.iter().map(|u| u.id).collect();
    let err = users.update_all(&mut batch).await.unwrap_err();
    match err {
        ModifyError::EntityNotFound { entity_id } => assert_eq!(entity_id, gone),
        other => panic!("expected EntityNotFound, got {other:?}"),
    }
    assert_eq!(
        count_rows(&pool, &ids).await,
        (2, 2),
        "the other two are untouched"
    );
}

#[tokio::test]
async fn bulk_writes_compose_in_a_transaction() {
    let pool = es_entity_tests::pool().await;
    let users = Users::new(pool.clone());
    let news = new_users(2);
    let ids: Vec<_> = news.iter().map(|n| n.id).collect();
    let mut op = users
        .begin_op()
        .await
        .unwrap()
        .with_time(chrono::Utc::now());
    let mut created = users.create_all_in_op(&mut op, news).await.unwrap();
    for u in &mut created {
        let _ = u.update_name(unique("in-op"));
    }
    assert_eq!(
        users.update_all_in_op(&mut op, &mut created).await.unwrap(),
        2
    );
    drop(op); // rolled back
    assert_eq!(count_rows(&pool, &ids).await, (0, 0));
}
