//! `update_all` rewrites only the index rows whose columns change; every row
//! of the batch is still locked and checked, and every event is appended.

use es_entity::*;
use sqlx::PgPool;
use uuid::Uuid;

use crate::repo_fixtures::{Member, MemberId, Members, NewMember, unique};

/// The transaction that last wrote the row, and the row's columns.
async fn row(pool: &PgPool, id: MemberId) -> (String, Option<String>, i64, String) {
    sqlx::query_as("SELECT xmin::TEXT, nickname, credit_limit, region FROM members WHERE id = $1")
        .bind(Uuid::from(id))
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn members_with_nickname(members: &Members, n: usize) -> Vec<Member> {
    let mut created = Vec::new();
    for i in 0..n {
        let mut new = NewMember::fresh();
        if i % 2 == 1 {
            new.nickname = Some(unique("nick"));
        }
        created.push(members.create(new).await.unwrap());
    }
    created
}

#[tokio::test]
async fn update_all_rewrites_only_changed_index_rows() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let mut batch = members_with_nickname(&members, 6).await;
    let mut before = Vec::new();
    for m in &batch {
        before.push(row(&pool, m.id).await);
    }

    batch[0].note("an event that changes no column");
    batch[1].change_nickname(None); // Some -> NULL
    batch[2].change_nickname(Some(&unique("new-nick"))); // NULL -> Some
    batch[3].change_credit_limit(250);
    let same_region = batch[4].region.clone();
    batch[4].change_region(&same_region); // an event, but the same value
    // batch[5] has no new event: not part of the write at all.

    assert_eq!(members.update_all(&mut batch).await.unwrap(), 5);

    let after: Vec<_> = {
        let mut rows = Vec::new();
        for m in &batch {
            rows.push(row(&pool, m.id).await);
        }
        rows
    };
    for i in [0, 4, 5] {
        assert_eq!(
            after[i], before[i],
            "row {i} left alone (same xmin, same values)"
        );
    }
    for i in [1, 2, 3] {
        assert_ne!(after[i].0, before[i].0, "row {i} rewritten");
    }
    assert_eq!(after[1].1, None);
    assert_eq!(after[2].1, batch[2].nickname);
    assert_eq!(after[3].2, 250);

    // Every event was appended, in order, whether the row changed or not.
    for m in &batch {
        let stored = members.find_by_id(m.id).await.unwrap();
        assert_eq!(stored.events().len_persisted(), m.events().len_persisted());
        assert_eq!(stored.nickname, m.nickname);
        assert_eq!(stored.credit_limit, m.credit_limit);
    }
    assert_eq!(batch[0].events().len_persisted(), 2);
}

#[tokio::test]
async fn unchanged_rows_still_conflict_and_still_must_exist() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let created = members_with_nickname(&members, 3).await;

    // A stale copy whose new event changes no column still loses the race.
    let mut stale = members.find_by_id(created[0].id).await.unwrap();
    let mut other = members.find_by_id(created[0].id).await.unwrap();
    other.note("first");
    members.update(&mut other).await.unwrap();
    stale.note("second");
    let mut batch = vec![stale];
    let err = members.update_all(&mut batch).await.unwrap_err();
    assert!(
        matches!(&err, ModifyError::ConcurrentModification { entity_id, expected_sequence: 2 } if *entity_id == created[0].id),
        "{err:?}"
    );

    // A vanished index row is named even when no row of the batch changes.
    let mut batch = vec![
        members.find_by_id(created[1].id).await.unwrap(),
        members.find_by_id(created[2].id).await.unwrap(),
    ];
    let gone = Uuid::from(created[2].id);
    sqlx::query("DELETE FROM member_events WHERE id = $1")
        .bind(gone)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM members WHERE id = $1")
        .bind(gone)
        .execute(&pool)
        .await
        .unwrap();
    for m in &mut batch {
        m.note("no column changes");
    }
    let err = members.update_all(&mut batch).await.unwrap_err();
    assert!(
        matches!(&err, ModifyError::EntityNotFound { entity_id } if *entity_id == created[2].id),
        "{err:?}"
    );
    let kept = members.find_by_id(created[1].id).await.unwrap();
    assert_eq!(
        kept.events().len_persisted(),
        1,
        "nothing of the batch stored"
    );
}

#[tokio::test]
async fn the_same_entity_twice_in_a_batch_is_named_and_nothing_is_stored() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let created = members_with_nickname(&members, 2).await;
    let mut batch = vec![
        members.find_by_id(created[0].id).await.unwrap(),
        members.find_by_id(created[1].id).await.unwrap(),
        members.find_by_id(created[1].id).await.unwrap(),
    ];
    batch[0].note("first");
    batch[1].note("one copy");
    batch[2].change_credit_limit(7);

    let err = members.update_all(&mut batch).await.unwrap_err();
    assert!(
        matches!(&err, ModifyError::DuplicateEntity { entity_id } if *entity_id == created[1].id),
        "{err:?}"
    );
    assert!(!err.is_concurrent_modification(), "not worth retrying");
    assert!(err.to_string().contains("more than once"), "{err}");
    for m in &created {
        let stored = members.find_by_id(m.id).await.unwrap();
        assert_eq!(stored.events().len_persisted(), 1, "nothing stored");
    }
    assert!(batch.iter().all(|m| m.events().any_new()));

    // A second copy without new events is not written, so it is no conflict.
    let mut batch = vec![
        members.find_by_id(created[1].id).await.unwrap(),
        members.find_by_id(created[1].id).await.unwrap(),
    ];
    batch[0].note("only this copy changed");
    assert_eq!(members.update_all(&mut batch).await.unwrap(), 1);
}
