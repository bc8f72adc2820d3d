//! Code shown in book/src/idempotency.md. Keep the ANCHOR markers in place.

use es_entity::{EsEntity, Idempotent, idempotency_guard};

use crate::book_entity::{User, UserEvent, created_user};
// What a repository's write does with the events, reached as generated
// code reaches it.
use es_entity::__private::EntityEventsExt as _;

// ANCHOR: guards
impl User {
    /// Once deactivated, deactivating again is a no-op until a reactivation.
    pub fn deactivate(&mut self, reason: impl Into<String>) -> Idempotent<()> {
        idempotency_guard!(
            self.events().iter_all().rev(),
            already_applied: UserEvent::Deactivated { .. },
            resets_on: UserEvent::Reactivated
        );
        self.events_mut().push(UserEvent::Deactivated {
            reason: reason.into(),
        });
        self.active = false;
        Idempotent::Executed(())
    }

    /// A user is active from creation on: both events count as "applied".
    pub fn reactivate(&mut self) -> Idempotent<()> {
        idempotency_guard!(
            self.events().iter_all().rev(),
            already_applied: UserEvent::Reactivated | UserEvent::Initialized { .. },
            resets_on: UserEvent::Deactivated { .. }
        );
        self.events_mut().push(UserEvent::Reactivated);
        self.active = true;
        Idempotent::Executed(())
    }

    /// Each verification token is used once, whatever happened since.
    pub fn verify_email(&mut self, token: &str) -> Idempotent<()> {
        idempotency_guard!(
            self.events().iter_all().rev(),
            already_applied: UserEvent::EmailVerified { token: used } if used == token
        );
        self.events_mut().push(UserEvent::EmailVerified {
            token: token.to_owned(),
        });
        self.verified = true;
        Idempotent::Executed(())
    }
}
// ANCHOR_END: guards

#[test]
fn deactivate_and_reactivate() {
    // ANCHOR: usage
    let mut user = created_user("linus@example.com");

    assert!(user.reactivate().was_already_applied()); // active since creation
    assert!(user.deactivate("holiday").did_execute());
    assert!(user.deactivate("holiday").was_already_applied());
    assert!(user.reactivate().did_execute());
    assert!(user.deactivate("again").did_execute()); // reset by the reactivation

    assert!(user.verify_email("token-1").did_execute());
    assert!(user.verify_email("token-1").was_already_applied());
    assert!(user.verify_email("token-2").did_execute());

    // Only the commands that executed left events behind.
    assert_eq!(user.events().len_new(), 5);
    // ANCHOR_END: usage
    assert!(!user.active && user.verified);
}

#[test]
fn guards_see_persisted_events_too() {
    let mut user = created_user("guards@example.com");
    assert!(user.deactivate("stored").did_execute());
    user.events_mut()
        .mark_new_events_persisted_at(chrono::Utc::now());
    assert!(!user.events().any_new());
    assert!(user.deactivate("retry after reload").was_already_applied());
    assert!(!user.events().any_new());
}

// ANCHOR: fallible
/// Why a command refused to run.
#[derive(Debug, PartialEq)]
pub enum VerifyError {
    Deactivated,
}

impl User {
    /// A fallible command returns `Result<Idempotent<T>, E>`: the guard
    /// returns `Ok(Idempotent::AlreadyApplied)`, the checks return `Err`.
    pub fn verify_active_email(&mut self, token: &str) -> Result<Idempotent<()>, VerifyError> {
        idempotency_guard!(
            self.events().iter_all().rev(),
            already_applied: UserEvent::EmailVerified { token: used } if used == token
        );
        if !self.active {
            return Err(VerifyError::Deactivated);
        }
        self.events_mut().push(UserEvent::EmailVerified {
            token: token.to_owned(),
        });
        self.verified = true;
        Ok(Idempotent::Executed(()))
    }
}
// ANCHOR_END: fallible

#[test]
fn fallible_commands_use_the_guard_too() {
    // ANCHOR: fallible_usage
    let mut user = created_user("grace@example.com");

    assert_eq!(
        user.verify_active_email("t-1"),
        Ok(Idempotent::Executed(()))
    );
    assert_eq!(
        user.verify_active_email("t-1"),
        Ok(Idempotent::AlreadyApplied)
    );
    assert!(user.deactivate("left").did_execute());
    // The guard runs first: a token already used is still "already applied".
    assert_eq!(
        user.verify_active_email("t-1"),
        Ok(Idempotent::AlreadyApplied)
    );
    assert_eq!(
        user.verify_active_email("t-2"),
        Err(VerifyError::Deactivated)
    );
    // ANCHOR_END: fallible_usage
    assert_eq!(user.events().len_new(), 2);
}
