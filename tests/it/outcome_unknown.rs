//! Writes whose outcome the client cannot know: the proxy in front of the
//! database lets the server run (and commit) the statement, then drops the
//! client's connection before the reply. Outside a transaction that is
//! `OutcomeUnknown`, which no retry repeats; the safe recovery is to reload
//! and run the command again, letting `idempotency_guard!` see its own event.
//! Inside a transaction nothing of the transaction committed, and the error
//! stays a transient `Sqlx` error.

use es_entity::*;
use es_entity_tests::proxy::{Fault, Proxy};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::quickstart::{NewUser, User, UserEvent, UserId, Users};
use crate::repo_fixtures::unique;

/// How many `NameUpdated { name }` events the stored history of `id` holds.
async fn renames_to(users: &Users, id: UserId, name: &str) -> usize {
    let user = users.find_by_id(id).await.unwrap();
    user.events()
        .iter_all()
        .filter(|e| matches!(e, UserEvent::NameUpdated { name: n } if n == name))
        .count()
}

/// A user created directly, and the proxied repository, its catalog read
/// already (a repository reads it before its first write, once per process:
/// the fault must trip on the write itself).
async fn setup() -> (Proxy, Users, Users, UserId) {
    let direct = Users::new(es_entity_tests::pool().await);
    let proxy = Proxy::start().await;
    let via = Users::new(proxy.pool().await);
    via.check_column_types().await.unwrap();
    let id = UserId::new();
    direct
        .create(NewUser {
            id,
            name: unique("before"),
        })
        .await
        .unwrap();
    (proxy, direct, via, id)
}

#[tokio::test]
async fn a_lost_reply_to_an_update_is_outcome_unknown_and_reloading_recovers() {
    let (proxy, direct, via, id) = setup().await;
    let name = unique("after");

    // ANCHOR: recover
    let mut user = via.find_by_id(id).await.unwrap();
    assert!(user.update_name(&name).did_execute());
    proxy.arm(Fault::after_execute().containing("UPDATE users"));
    let err = via.update(&mut user).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert!(!err.is_transient(), "never retried blindly");

    // The safe recovery: reload, and run the same command again. It was
    // stored, so the idempotent command sees its own event and writes nothing.
    let mut user = via.find_by_id(id).await.unwrap();
    assert!(user.update_name(&name).was_already_applied());
    assert_eq!(via.update(&mut user).await.unwrap(), 0);
    // ANCHOR_END: recover

    let fired = proxy.fired();
    assert_eq!(fired.len(), 1, "{fired:#?}");
    assert!(fired[0].withheld.committed(), "{fired:#?}");
    assert!(
        err.to_string().contains("may or may not be stored"),
        "{err}"
    );
    assert_eq!(renames_to(&direct, id, &name).await, 1, "exactly one copy");
}

#[tokio::test]
async fn the_retry_helper_does_not_repeat_an_outcome_unknown_write() {
    let (proxy, direct, via, id) = setup().await;
    let name = unique("retried");
    let attempts = AtomicU32::new(0);
    let policy = RetryPolicy::new(5).retry_transient(true);

    proxy.arm(Fault::after_execute().containing("UPDATE users"));
    let result = retry_on_concurrent_modification(&policy, || async {
        attempts.fetch_add(1, Ordering::SeqCst);
        let mut user: User = via.find_by_id(id).await.unwrap();
        if user.update_name(&name).was_already_applied() {
            return Ok(0);
        }
        via.update(&mut user).await
    })
    .await;

    assert!(
        matches!(result, Err(ModifyError::OutcomeUnknown(_))),
        "{result:?}"
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 1, "not retried");
    assert_eq!(renames_to(&direct, id, &name).await, 1);
}

#[tokio::test]
async fn a_lost_reply_to_a_create_is_outcome_unknown() {
    let (proxy, direct, via, _) = setup().await;
    let id = UserId::new();
    proxy.arm(Fault::after_execute().containing("INSERT INTO users"));
    let err = via
        .create(NewUser {
            id,
            name: unique("created"),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, CreateError::OutcomeUnknown(_)), "{err:?}");
    assert!(proxy.fired()[0].withheld.committed());
    // Looking it up tells: here, it was stored.
    assert_eq!(direct.find_by_id(id).await.unwrap().id, id);
}

#[tokio::test]
async fn a_lost_reply_to_update_all_is_outcome_unknown() {
    let (proxy, direct, via, id) = setup().await;
    let name = unique("batch");
    let mut users = vec![via.find_by_id(id).await.unwrap()];
    assert!(users[0].update_name(&name).did_execute());
    proxy.arm(Fault::after_execute().containing("UPDATE users"));
    let err = via.update_all(&mut users).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(renames_to(&direct, id, &name).await, 1);
}

#[tokio::test]
async fn inside_a_transaction_a_lost_connection_loses_the_transaction() {
    let (proxy, direct, via, id) = setup().await;
    let name = unique("in-op");
    let mut user = via.find_by_id(id).await.unwrap();
    assert!(user.update_name(&name).did_execute());

    let mut op = via.begin_op().await.unwrap();
    proxy.arm(Fault::after_execute().containing("UPDATE users"));
    let err = via.update_in_op(&mut op, &mut user).await.unwrap_err();
    // The server ran the statement in a transaction nobody can commit now:
    // nothing is stored, and restarting the whole transaction is safe.
    assert!(matches!(err, ModifyError::Sqlx(_)), "{err:?}");
    assert!(err.is_transient());
    let fired = proxy.fired();
    assert_eq!(
        fired[0].withheld.ready,
        Some(b'T'),
        "still in the transaction"
    );
    assert!(!fired[0].withheld.committed());
    drop(op);
    assert_eq!(renames_to(&direct, id, &name).await, 0);
}

#[tokio::test]
async fn a_lost_reply_to_commit_leaves_the_same_doubt() {
    let (proxy, direct, via, id) = setup().await;
    let name = unique("committed");
    let mut user = via.find_by_id(id).await.unwrap();
    assert!(user.update_name(&name).did_execute());
    let mut op = via.begin_op().await.unwrap();
    via.update_in_op(&mut op, &mut user).await.unwrap();
    proxy.arm(Fault::after_query().containing("COMMIT"));
    let err = match op.commit().await.unwrap_err() {
        CommitError::Sqlx(err) => err,
        other => panic!("{other:?}"),
    };
    assert!(is_connection_lost(&err), "{err:?}");
    assert!(proxy.fired()[0].withheld.committed());
    assert_eq!(renames_to(&direct, id, &name).await, 1);
}

#[tokio::test]
async fn a_lost_reply_to_an_unchecked_update_is_outcome_unknown() {
    let (proxy, direct, via, id) = setup().await;
    let name = unique("unchecked");
    let mut user = via.find_by_id(id).await.unwrap();
    assert!(user.update_name(&name).did_execute());
    proxy.arm(Fault::after_execute().containing("UPDATE users"));
    let err = via.update_unchecked(&mut user).await.unwrap_err();
    assert!(
        matches!(err, UncheckedModifyError::OutcomeUnknown(_)),
        "{err:?}"
    );
    assert_eq!(renames_to(&direct, id, &name).await, 1);
}
