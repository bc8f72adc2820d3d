//! Code shown in book/src/testing.md. Keep the ANCHOR markers in place.

use std::panic::{self, AssertUnwindSafe};

use es_entity::testing::given;
use es_entity::{EsEntity, HydrationFailure, Idempotent};

use crate::book_entity::{User, UserEvent, UserId};
use crate::book_idempotency::VerifyError;
use crate::quickstart;

fn initialized(id: UserId) -> UserEvent {
    UserEvent::Initialized {
        id,
        email: "ada@example.com".into(),
    }
}

// ANCHOR: errors
#[test]
fn a_deactivated_user_cannot_verify_a_new_token() {
    let id = UserId::new();
    let err = given::<User>(
        id,
        [
            initialized(id),
            UserEvent::Deactivated {
                reason: "left".into(),
            },
        ],
    )
    .when(|user| user.verify_active_email("t-1"))
    .then_error();
    assert_eq!(err, VerifyError::Deactivated);
}

#[test]
fn a_used_token_stays_applied_after_deactivation() {
    let id = UserId::new();
    given::<User>(
        id,
        [
            initialized(id),
            UserEvent::EmailVerified {
                token: "t-1".into(),
            },
            UserEvent::Deactivated {
                reason: "left".into(),
            },
        ],
    )
    .when(|user| user.verify_active_email("t-1"))
    .then_already_applied();
}

#[test]
fn an_active_user_verifies() {
    let id = UserId::new();
    let then = given::<User>(id, [initialized(id)])
        .when(|user| user.verify_active_email("t-1"))
        .then_ok()
        .then_events([UserEvent::EmailVerified {
            token: "t-1".into(),
        }]);
    assert_eq!(*then.result(), Idempotent::Executed(()));
    assert!(then.entity().verified);
}
// ANCHOR_END: errors

// ANCHOR: hydration
#[test]
fn loading_needs_the_initialized_event() {
    use es_entity::testing::try_given;

    let err = try_given::<User>(UserId::new(), [UserEvent::Reactivated])
        .err()
        .expect("no Initialized event, no user");
    assert!(matches!(
        err.failure(),
        HydrationFailure::MissingField("id")
    ));

    let id = UserId::new();
    let user = given::<User>(
        id,
        [
            initialized(id),
            UserEvent::EmailChanged {
                email: "ada@lovelace.org".into(),
            },
        ],
    )
    .into_entity();
    assert_eq!(user.email, "ada@lovelace.org");
    assert_eq!(user.events().len_persisted(), 2);
}
// ANCHOR_END: hydration

/// The message book/src/testing.md shows, produced by a misspelt
/// expectation on the quickstart's `User`.
fn quickstart_failure() -> String {
    use quickstart::{User, UserEvent, UserId};

    let id = UserId::new();
    let failed = panic::catch_unwind(AssertUnwindSafe(|| {
        given::<User>(
            id,
            [UserEvent::Initialized {
                id,
                name: "Alice".into(),
            }],
        )
        .when(|user| user.update_name("Alicia"))
        .then_events([UserEvent::NameUpdated {
            name: "Alicja".into(),
        }]);
    }));
    let payload = failed.expect_err("the names differ");
    payload
        .downcast_ref::<String>()
        .expect("a formatted message")
        .clone()
}

#[test]
fn the_chapter_shows_the_real_failure_message() {
    let chapter = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/testing.md"),
    )
    .expect("the chapter exists");
    let shown = chapter
        .split("```text\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the chapter shows a failure in a ```text block");
    assert_eq!(
        shown,
        quickstart_failure(),
        "book/src/testing.md shows a failure message the kit no longer prints"
    );
}

// ANCHOR: sqlx_test
use quickstart::{NewUser, Users};

/// `#[sqlx::test]` creates a database for this test on the server
/// `DATABASE_URL` names, applies ./migrations to it and passes a pool on it.
#[sqlx::test(migrations = "./migrations")]
async fn alice_in_a_database_of_her_own(
    pool: sqlx::PgPool,
) -> Result<(), Box<dyn std::error::Error>> {
    let users = Users::new(pool.clone());
    let new_user = NewUser {
        id: quickstart::UserId::new(),
        name: "Alice".into(), // `name` is UNIQUE: no other test's Alice is here
    };
    let mut user = users.create(new_user).await?;
    assert!(user.update_name("Alicia").did_execute());
    users.update(&mut user).await?;

    let loaded = users.find_by_name("Alicia").await?;
    assert_eq!(loaded.events().len_persisted(), 2);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await?;
    assert_eq!(count, 1);
    Ok(())
}
// ANCHOR_END: sqlx_test

/// A second test creating the same unique name: it passes only because its
/// database is not the first one's.
#[sqlx::test(migrations = "./migrations")]
async fn another_alice_in_another_database(
    pool: sqlx::PgPool,
) -> Result<(), Box<dyn std::error::Error>> {
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&pool)
        .await?;
    assert!(database.starts_with("_sqlx_test_"), "{database}");
    let harness = es_entity_tests::pool().await;
    let shared: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&harness)
        .await?;
    assert_ne!(database, shared);

    let users = Users::new(pool);
    let alice = users
        .create(NewUser {
            id: quickstart::UserId::new(),
            name: "Alice".into(),
        })
        .await?;
    assert_eq!(users.find_by_name("Alice").await?.id, alice.id);
    Ok(())
}
