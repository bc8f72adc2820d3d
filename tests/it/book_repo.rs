//! Examples for the book's repository chapters (quickstart, create, update,
//! find_by, es_query, errors). They use the quickstart's `User`.

use es_entity::*;

use crate::quickstart::{NewUser, User, UserColumn, UserId, Users};

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", UserId::new())
}

#[tokio::test]
async fn quickstart_runs_and_reports_each_step() {
    let log = crate::quickstart::run(es_entity_tests::pool().await)
        .await
        .unwrap();
    assert_eq!(log.len(), 3);
    assert!(log[0].starts_with("created "));
    assert!(log[1].contains(": 1 event written"));
    assert!(log[2].ends_with("2 events"));
}

#[tokio::test]
async fn create_returns_the_hydrated_entity() -> Result<(), Box<dyn std::error::Error>> {
    let users = Users::new(es_entity_tests::pool().await);
    // ANCHOR: create
    let id = UserId::new();
    let user = users
        .create(NewUser {
            id,
            name: unique("Bea"),
        })
        .await?;
    assert_eq!(user.id, id);
    // The initial event is stored as sequence 1 with the statement's time.
    assert_eq!(user.events().len_persisted(), 1);
    assert!(!user.events().any_new());
    assert!(user.events().entity_first_persisted_at().is_some());
    // ANCHOR_END: create
    Ok(())
}

#[tokio::test]
async fn update_writes_only_new_events() -> Result<(), Box<dyn std::error::Error>> {
    let users = Users::new(es_entity_tests::pool().await);
    let mut user = users
        .create(NewUser {
            id: UserId::new(),
            name: unique("Cy"),
        })
        .await?;
    // ANCHOR: update
    let new_name = unique("Cyrus");
    assert!(user.update_name(&new_name).did_execute());
    assert_eq!(users.update(&mut user).await?, 1);
    // Nothing new: no statement is sent and 0 is returned.
    assert_eq!(users.update(&mut user).await?, 0);
    assert_eq!(users.find_by_id(user.id).await?.name, new_name);
    // ANCHOR_END: update
    Ok(())
}

#[tokio::test]
async fn find_by_and_maybe_find_by() -> Result<(), Box<dyn std::error::Error>> {
    let users = Users::new(es_entity_tests::pool().await);
    let name = unique("Dee");
    let user = users
        .create(NewUser {
            id: UserId::new(),
            name: name.clone(),
        })
        .await?;
    // ANCHOR: find_by
    let by_id = users.find_by_id(user.id).await?;
    let by_name = users.find_by_name(&name).await?;
    assert_eq!(by_id.id, by_name.id);

    let missing = users.find_by_name(unique("nobody")).await.unwrap_err();
    assert!(missing.was_not_found());
    assert!(users.maybe_find_by_name(unique("nobody")).await?.is_none());
    // String columns take anything `AsRef<str>`: a literal, `&String`, `String`.
    assert!(
        users
            .maybe_find_by_name("no user has this name")
            .await?
            .is_none()
    );

    // Inside a transaction, through the `_in_op` variant.
    let mut op = users.begin_op().await?;
    let in_op = users.find_by_id_in_op(&mut op, user.id).await?;
    op.commit().await?;
    assert_eq!(in_op.name, name);
    // ANCHOR_END: find_by
    Ok(())
}

#[tokio::test]
async fn es_query_loads_entities_in_query_order() -> Result<(), Box<dyn std::error::Error>> {
    let users = Users::new(es_entity_tests::pool().await);
    let prefix = unique("Eve");
    for suffix in ["c", "a", "b"] {
        let name = format!("{prefix}-{suffix}");
        users
            .create(NewUser {
                id: UserId::new(),
                name,
            })
            .await?;
    }
    // ANCHOR: es_query_use
    let (page, more) = users.list_by_name_prefix(&prefix, 2).await?;
    let names: Vec<_> = page.iter().map(|u| u.name.clone()).collect();
    assert_eq!(names, [format!("{prefix}-a"), format!("{prefix}-b")]);
    assert!(more);

    let (all, more) = users.list_by_name_prefix(&prefix, 10).await?;
    assert_eq!(all.len(), 3);
    assert!(!more);
    // ANCHOR_END: es_query_use

    let exact = users
        .maybe_find_by_exact_name(&format!("{prefix}-b"))
        .await?;
    assert_eq!(exact.map(|u| u.name), Some(format!("{prefix}-b")));
    assert!(
        users
            .maybe_find_by_exact_name(&unique("none"))
            .await?
            .is_none()
    );
    Ok(())
}

#[tokio::test]
async fn duplicate_name_is_a_typed_constraint_violation() -> Result<(), Box<dyn std::error::Error>>
{
    let users = Users::new(es_entity_tests::pool().await);
    let name = unique("Fay");
    users
        .create(NewUser {
            id: UserId::new(),
            name: name.clone(),
        })
        .await?;
    // ANCHOR: errors
    let err = users
        .create(NewUser {
            id: UserId::new(),
            name: name.clone(),
        })
        .await
        .unwrap_err();
    assert!(err.was_duplicate());
    assert!(err.was_duplicate_by(UserColumn::Name));
    assert_eq!(err.duplicate_value(), Some(name.as_str()));
    assert_eq!(err.constraint_name(), Some("users_name_key"));
    println!("{err}"); // creating User: User violates a unique constraint `users_name_key` (name = ...)
    // ANCHOR_END: errors
    assert!(
        err.to_string()
            .contains("User violates a unique constraint")
    );
    assert!(matches!(err, CreateError::ConstraintViolation(_)));
    Ok(())
}

#[tokio::test]
async fn stale_copy_gets_a_concurrent_modification() -> Result<(), Box<dyn std::error::Error>> {
    let users = Users::new(es_entity_tests::pool().await);
    let user = users
        .create(NewUser {
            id: UserId::new(),
            name: unique("Gil"),
        })
        .await?;
    // ANCHOR: conflict
    let mut first = users.find_by_id(user.id).await?;
    let mut second = users.find_by_id(user.id).await?;
    let _ = first.update_name(unique("first"));
    let _ = second.update_name(unique("second"));

    assert_eq!(users.update(&mut first).await?, 1);
    match users.update(&mut second).await {
        Err(ModifyError::ConcurrentModification {
            entity_id,
            expected_sequence,
            expected_version,
            actual_version,
        }) => {
            assert_eq!(entity_id, user.id);
            assert_eq!(expected_sequence, 2);
            // `second` was loaded at version 1; `first` took the stream to 2.
            assert_eq!((expected_version, actual_version), (1, Some(2)));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Reload and apply the command again.
    let mut second: User = users.find_by_id(user.id).await?;
    let retried = unique("second");
    let _ = second.update_name(&retried);
    assert_eq!(users.update(&mut second).await?, 1);
    // ANCHOR_END: conflict
    let stored = users.find_by_id(user.id).await?;
    assert_eq!(stored.name, retried);
    let sequences: Vec<_> = stored
        .events()
        .iter_persisted()
        .map(|e| e.sequence)
        .collect();
    assert_eq!(sequences, [1, 2, 3]);
    Ok(())
}
