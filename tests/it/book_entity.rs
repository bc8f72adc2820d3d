//! Code shown in book/src/entity.md. Keep the ANCHOR markers in place.

use es_entity::*;
use serde::{Deserialize, Serialize};
// What a repository's write does with the events, reached as generated
// code reaches it.
use es_entity::__private::EntityEventsExt as _;

// ANCHOR: id
entity_id! { UserId }
// ANCHOR_END: id

// ANCHOR: events
#[derive(EsEvent, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "UserId")]
pub enum UserEvent {
    Initialized { id: UserId, email: String },
    EmailChanged { email: String },
    EmailVerified { token: String },
    Deactivated { reason: String },
    Reactivated,
}
// ANCHOR_END: events

// ANCHOR: entity
#[derive(EsEntity, Debug)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub verified: bool,
    pub active: bool,
    events: EntityEvents<UserEvent>,
}
// ANCHOR_END: entity

// ANCHOR: new
/// What `create` takes: only the data the first event needs.
pub struct NewUser {
    pub id: UserId,
    pub email: String,
}

impl IntoEvents<UserEvent> for NewUser {
    fn into_events(self) -> EntityEvents<UserEvent> {
        EntityEvents::init(
            self.id,
            [UserEvent::Initialized {
                id: self.id,
                email: self.email,
            }],
        )
    }
}
// ANCHOR_END: new

// ANCHOR: hydrate
impl TryFromEvents<UserEvent> for User {
    fn try_from_events(events: EntityEvents<UserEvent>) -> Result<Self, EntityHydrationError> {
        let mut id = None;
        let mut email = None;
        let mut verified = false;
        let mut active = true;
        for event in events.iter_all() {
            match event {
                UserEvent::Initialized { id: i, email: e } => {
                    id = Some(*i);
                    email = Some(e.clone());
                }
                UserEvent::EmailChanged { email: e } => {
                    email = Some(e.clone());
                    verified = false;
                }
                UserEvent::EmailVerified { .. } => verified = true,
                UserEvent::Deactivated { .. } => active = false,
                UserEvent::Reactivated => active = true,
            }
        }
        let id = id.ok_or_else(|| events.missing_field("id"))?;
        let email = email.ok_or_else(|| events.missing_field("email"))?;
        Ok(User {
            id,
            email,
            verified,
            active,
            events,
        })
    }
}
// ANCHOR_END: hydrate

// ANCHOR: mutate
impl User {
    /// Commands check, push an event, then update the fields it affects.
    pub fn change_email(&mut self, email: impl Into<String>) -> Idempotent<()> {
        let email = email.into();
        if self.email == email {
            return Idempotent::AlreadyApplied;
        }
        self.events.push(UserEvent::EmailChanged {
            email: email.clone(),
        });
        self.email = email;
        self.verified = false;
        Idempotent::Executed(())
    }
}
// ANCHOR_END: mutate

/// A user as a repository would return it after `create`: its first events
/// are stored. (The test uses a fixed time instead of a database.)
pub fn created_user(email: &str) -> User {
    let mut events = NewUser {
        id: UserId::new(),
        email: email.into(),
    }
    .into_events();
    events.mark_new_events_persisted_at(chrono::Utc::now());
    User::try_from_events(events).expect("a new user hydrates")
}

#[test]
fn new_user_round_trip() {
    // ANCHOR: round_trip
    let id = UserId::new();
    let events = NewUser {
        id,
        email: "ada@example.com".into(),
    }
    .into_events();
    assert_eq!(events.len_new(), 1);

    let mut user = User::try_from_events(events).unwrap();
    assert_eq!(user.id, id);
    assert_eq!(user.email, "ada@example.com");
    assert!(user.active && !user.verified);

    assert!(user.change_email("ada@lovelace.org").did_execute());
    assert!(user.change_email("ada@lovelace.org").was_already_applied());
    assert_eq!(user.events().len_new(), 2);
    // ANCHOR_END: round_trip
}

#[test]
fn hydrating_from_stored_rows() {
    // ANCHOR: rows
    // What a repository reads from `user_events`, one row per event.
    let id = UserId::new();
    let at = chrono::Utc::now();
    let row = |sequence: i32, event: UserEvent| GenericEvent {
        entity_id: id,
        sequence,
        event_type: event.event_type().to_owned(),
        event: EventJson::from(serde_json::to_value(&event).unwrap()),
        context: None,
        recorded_at: at,
    };
    let rows = vec![
        row(
            1,
            UserEvent::Initialized {
                id,
                email: "grace@example.com".into(),
            },
        ),
        row(
            2,
            UserEvent::EmailVerified {
                token: "t-1".into(),
            },
        ),
        row(
            3,
            UserEvent::Deactivated {
                reason: "left".into(),
            },
        ),
    ];
    let user: User = EntityEvents::load_first(rows).unwrap();
    assert!(user.verified && !user.active);
    assert_eq!(user.events().len_persisted(), 3);
    assert!(!user.events().any_new());
    // ANCHOR_END: rows
}

#[test]
fn history_without_initialized_is_rejected() {
    let events = EntityEvents::init(UserId::new(), [UserEvent::Reactivated]);
    let err = User::try_from_events(events).unwrap_err();
    assert!(
        matches!(err.failure(), HydrationFailure::MissingField("id")),
        "{err}"
    );
}

#[test]
fn created_user_has_no_pending_events() {
    let user = created_user("x@example.com");
    assert_eq!(user.events().len_persisted(), 1);
    assert!(!user.events().any_new());
}
