//! EsRepo errors: constraint violations by kind, NotFound / MultipleFound,
//! a vanished index row, and that a failed write leaves nothing behind.

use std::error::Error as _;

use es_entity::*;
use uuid::Uuid;

use crate::repo_fixtures::*;

async fn nothing_stored_for_member(pool: &sqlx::PgPool, id: MemberId) {
    assert!(
        !index_row_exists(pool, "members", id).await,
        "index row left behind"
    );
    assert!(
        stored_sequences(pool, "member_events", id).await.is_empty(),
        "events left behind"
    );
}

#[tokio::test]
async fn duplicate_unique_column_on_create() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let first = NewMember::fresh();
    let key = first.email_key();
    let first = members.create(first).await.unwrap();

    // Another spelling of the same address: the accessor lower-cases it.
    let mut second = NewMember::fresh();
    second.email = key.to_uppercase();
    let second_id = second.id;
    let err = members.create(second).await.unwrap_err();

    assert!(err.was_duplicate(), "{err:?}");
    assert!(err.was_duplicate_by(MemberColumn::Email), "{err:?}");
    assert!(!err.was_duplicate_by(MemberColumn::Id));
    assert_eq!(err.duplicate_value(), Some(key.as_str()));
    assert_eq!(err.constraint_name(), Some("members_email_key"));
    let violation = err.constraint_violation().expect("a constraint violation");
    assert_eq!(violation.kind, ConstraintKind::Unique);
    assert_eq!(violation.column, Some(MemberColumn::Email));
    assert!(matches!(err, CreateError::ConstraintViolation(_)));
    assert!(err.source().is_some(), "the sqlx error is the source");
    let shown = err.to_string();
    assert!(shown.contains("Member"), "{shown}");
    assert!(shown.contains("unique"), "{shown}");
    assert!(shown.contains("members_email_key"), "{shown}");
    assert!(shown.contains(&format!("email = {key}")), "{shown}");

    nothing_stored_for_member(&pool, second_id).await;
    assert_eq!(
        stored_sequences(&pool, "member_events", first.id).await,
        [1]
    );
}

#[tokio::test]
async fn duplicate_id_on_create_is_a_duplicate_on_the_id_column() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let first = members.create(NewMember::fresh()).await.unwrap();
    let before = member_row(&pool, first.id).await;

    let mut again = NewMember::fresh();
    again.id = first.id;
    let err = members.create(again).await.unwrap_err();

    assert!(err.was_duplicate(), "{err:?}");
    assert!(err.was_duplicate_by(MemberColumn::Id), "{err:?}");
    assert!(!err.was_duplicate_by(MemberColumn::Email));
    assert_eq!(err.duplicate_value(), Some(first.id.to_string().as_str()));
    assert_eq!(err.constraint_name(), Some("members_pkey"));
    assert!(err.to_string().contains("Member"), "{err}");

    assert_eq!(
        member_row(&pool, first.id).await,
        before,
        "the original row is untouched"
    );
    assert_eq!(
        stored_sequences(&pool, "member_events", first.id).await,
        [1]
    );
}

#[tokio::test]
async fn duplicate_unique_column_on_update() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let taken = members.create(NewMember::fresh()).await.unwrap();
    let mut member = members.create(NewMember::fresh()).await.unwrap();
    let before = member_row(&pool, member.id).await;

    member.change_email(&taken.email);
    let err = members.update(&mut member).await.unwrap_err();

    assert!(
        matches!(err, ModifyError::ConstraintViolation(_)),
        "{err:?}"
    );
    assert!(err.was_duplicate_by(MemberColumn::Email), "{err:?}");
    assert_eq!(err.duplicate_value(), Some(taken.normalized_email.as_str()));
    assert_eq!(err.constraint_name(), Some("members_email_key"));
    assert!(!err.is_concurrent_modification());
    let shown = err.to_string();
    assert!(shown.starts_with("updating Member"), "{shown}");
    assert!(shown.contains("email"), "{shown}");

    // Nothing written, and the event is still waiting.
    assert_eq!(member_row(&pool, member.id).await, before);
    assert_eq!(
        stored_sequences(&pool, "member_events", member.id).await,
        [1]
    );
    assert_eq!(
        (member.events().len_persisted(), member.events().len_new()),
        (1, 1)
    );

    // Another change on top, then a retry: both pending events are written.
    member.change_email(&format!("{}@retry.example", unique("ok")));
    assert_eq!(members.update(&mut member).await.unwrap(), 2);
    assert_eq!(
        stored_sequences(&pool, "member_events", member.id).await,
        [1, 2, 3]
    );
}

#[tokio::test]
async fn foreign_key_violation() {
    let pool = es_entity_tests::pool().await;
    let tickets = Tickets::new(&pool);
    let members = Members::new(&pool);
    let missing = MemberId::new();
    let id = TicketId::new();

    let err = tickets
        .create(NewTicket {
            id,
            member_id: missing,
            title: "orphan".into(),
        })
        .await
        .unwrap_err();

    let violation = err
        .constraint_violation()
        .unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(violation.kind, ConstraintKind::ForeignKey);
    assert_eq!(violation.column, Some(TicketColumn::MemberId));
    assert_eq!(
        violation.value.as_deref(),
        Some(missing.to_string().as_str())
    );
    assert_eq!(err.constraint_name(), Some("tickets_member_id_fkey"));
    assert!(!err.was_duplicate());
    assert_eq!(err.duplicate_value(), None);
    let shown = err.to_string();
    assert!(
        shown.contains("Ticket") && shown.contains("foreign key") && shown.contains("member_id"),
        "{shown}"
    );
    assert!(!index_row_exists(&pool, "tickets", id).await);
    assert!(
        stored_sequences(&pool, "ticket_events", id)
            .await
            .is_empty()
    );

    // On update too.
    let member = members.create(NewMember::fresh()).await.unwrap();
    let mut ticket = tickets
        .create(NewTicket {
            id,
            member_id: member.id,
            title: "ok".into(),
        })
        .await
        .unwrap();
    ticket.reassign(missing);
    let err = tickets.update(&mut ticket).await.unwrap_err();
    let violation = err
        .constraint_violation()
        .unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(violation.kind, ConstraintKind::ForeignKey);
    assert_eq!(violation.column, Some(TicketColumn::MemberId));
    assert_eq!(stored_sequences(&pool, "ticket_events", id).await, [1]);
}

#[tokio::test]
async fn check_violation() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let mut new = NewMember::fresh();
    new.credit_limit = -1;
    let id = new.id;

    let err = members.create(new).await.unwrap_err();

    let violation = err
        .constraint_violation()
        .unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(violation.kind, ConstraintKind::Check);
    assert_eq!(err.constraint_name(), Some("members_credit_limit_check"));
    assert!(!err.was_duplicate());
    let shown = err.to_string();
    assert!(
        shown.contains("Member") && shown.contains("check"),
        "{shown}"
    );
    assert!(shown.contains("members_credit_limit_check"), "{shown}");
    nothing_stored_for_member(&pool, id).await;

    let mut member = members.create(NewMember::fresh()).await.unwrap();
    member.change_credit_limit(-50);
    let err = members.update(&mut member).await.unwrap_err();
    let violation = err
        .constraint_violation()
        .unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(violation.kind, ConstraintKind::Check);
    assert_eq!(
        violation.constraint.as_deref(),
        Some("members_credit_limit_check")
    );
    assert_eq!(member_row(&pool, member.id).await.credit_limit, 100);
    assert_eq!(
        stored_sequences(&pool, "member_events", member.id).await,
        [1]
    );
}

#[tokio::test]
async fn multiple_found_on_a_non_unique_column() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let tickets = Tickets::new(&pool);
    let member = members.create(NewMember::fresh()).await.unwrap();
    let one = tickets
        .create(NewTicket {
            id: TicketId::new(),
            member_id: member.id,
            title: "one".into(),
        })
        .await
        .unwrap();

    // One match: found.
    assert_eq!(
        tickets.find_by_member_id(member.id).await.unwrap().id,
        one.id
    );
    assert_eq!(
        tickets
            .maybe_find_by_member_id(member.id)
            .await
            .unwrap()
            .map(|t| t.id),
        Some(one.id)
    );

    tickets
        .create(NewTicket {
            id: TicketId::new(),
            member_id: member.id,
            title: "two".into(),
        })
        .await
        .unwrap();
    let err = tickets.find_by_member_id(member.id).await.unwrap_err();
    match &err {
        FindError::MultipleFound { column, value } => {
            assert_eq!(*column, TicketColumn::MemberId);
            assert_eq!(*value, format!("{:?}", member.id));
        }
        other => panic!("expected MultipleFound, got {other:?}"),
    }
    assert!(!err.was_not_found());
    let shown = err.to_string();
    assert!(
        shown.contains("Ticket") && shown.contains("member_id"),
        "{shown}"
    );

    let err = tickets
        .maybe_find_by_member_id(member.id)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            QueryError::MultipleFound {
                column: TicketColumn::MemberId,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("member_id"), "{err}");

    // Same through a transaction, and on the members' `region`.
    let mut tx = pool.begin().await.unwrap();
    let err = tickets
        .maybe_find_by_member_id_in_op(&mut tx, member.id)
        .await
        .unwrap_err();
    assert!(matches!(err, QueryError::MultipleFound { .. }), "{err:?}");
    drop(tx);
    let mut twin = NewMember::fresh();
    twin.region = member.region.clone();
    members.create(twin).await.unwrap();
    let err = members.find_by_region(&member.region).await.unwrap_err();
    assert!(
        matches!(
            err,
            FindError::MultipleFound {
                column: MemberColumn::Region,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn not_found_names_entity_column_and_value() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);

    let id = MemberId::new();
    let err = members.find_by_id(id).await.unwrap_err();
    match &err {
        FindError::NotFound {
            entity,
            column,
            value,
        } => {
            assert_eq!(*entity, "Member");
            assert_eq!(*column, MemberColumn::Id);
            assert_eq!(*value, format!("{id:?}"));
            assert!(value.contains(&id.to_string()), "{value}");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(err.was_not_found());
    let shown = err.to_string();
    assert!(
        shown.contains("Member") && shown.contains("id") && shown.contains(&id.to_string()),
        "{shown}"
    );
    assert!(err.source().is_none());

    let email = unique("nobody");
    let err = members.find_by_email(&email).await.unwrap_err();
    assert!(
        matches!(&err, FindError::NotFound { entity: "Member", column: MemberColumn::Email, value } if value.contains(&email)),
        "{err:?}"
    );
    let shown = err.to_string();
    assert!(
        shown.contains("Member") && shown.contains("email") && shown.contains(&email),
        "{shown}"
    );

    // In a transaction too.
    let mut op = members.begin_op().await.unwrap();
    assert!(
        members
            .find_by_id_in_op(&mut op, id)
            .await
            .unwrap_err()
            .was_not_found()
    );
}

#[tokio::test]
async fn update_after_the_index_row_was_deleted_is_entity_not_found() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let mut member = members.create(NewMember::fresh()).await.unwrap();
    let id = Uuid::from(member.id);
    sqlx::query("DELETE FROM member_events WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM members WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();

    member.note("into the void");
    let err = members.update(&mut member).await.unwrap_err();

    match &err {
        ModifyError::EntityNotFound { entity_id } => assert_eq!(*entity_id, member.id),
        other => panic!("expected EntityNotFound, got {other:?}"),
    }
    assert!(!err.is_concurrent_modification());
    let shown = err.to_string();
    assert!(
        shown.contains("Member") && shown.contains(&member.id.to_string()),
        "{shown}"
    );
    nothing_stored_for_member(&pool, member.id).await;
    assert_eq!(
        member.events().len_new(),
        1,
        "the event was not marked persisted"
    );

    // The same through update_in_op (and the transaction stays usable).
    let mut op = members.begin_op().await.unwrap();
    let err = members
        .update_in_op(&mut op, &mut member)
        .await
        .unwrap_err();
    assert!(matches!(err, ModifyError::EntityNotFound { .. }), "{err:?}");
    sqlx::query("SELECT 1")
        .execute(op.tx().as_mut())
        .await
        .expect("transaction not aborted");
    op.commit().await.unwrap();
    nothing_stored_for_member(&pool, member.id).await;
}

#[tokio::test]
async fn update_without_updatable_columns_after_the_row_was_deleted() {
    let pool = es_entity_tests::pool().await;
    let memos = Memos::new(&pool);
    let mut memo = memos
        .create(NewMemo {
            id: MemoId::new(),
            title: unique("memo"),
        })
        .await
        .unwrap();
    let id = Uuid::from(memo.id);
    sqlx::query("DELETE FROM memo_events WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM memos WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();

    memo.retitle("gone");
    let err = memos.update(&mut memo).await.unwrap_err();
    assert!(
        matches!(&err, ModifyError::EntityNotFound { entity_id } if *entity_id == memo.id),
        "{err:?}"
    );
    assert!(
        stored_sequences(&pool, "memo_events", memo.id)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn events_that_do_not_hydrate_are_a_hydration_error() {
    let pool = es_entity_tests::pool().await;
    let memos = Memos::new(&pool);
    let title = unique("memo");
    let memo = memos
        .create(NewMemo {
            id: MemoId::new(),
            title: title.clone(),
        })
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO memo_events (id, sequence, event_type, event, recorded_at) \
         VALUES ($1, 2, 'exploded', '{\"type\": \"exploded\"}', NOW())",
    )
    .bind(Uuid::from(memo.id))
    .execute(&pool)
    .await
    .unwrap();

    let err = memos.find_by_id(memo.id).await.unwrap_err();
    let FindError::HydrationError(hydration) = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(hydration.failure(), HydrationFailure::UnknownEventType(t) if t == "exploded")
    );
    assert_eq!(hydration.sequence(), Some(2));
    assert_eq!(hydration.entity_id(), Some(memo.id.to_string().as_str()));
    assert!(err.to_string().contains("exploded"), "{err}");
    let err = memos.maybe_find_by_title(&title).await.unwrap_err();
    assert!(matches!(err, QueryError::HydrationError(_)), "{err:?}");
}

#[tokio::test]
async fn create_that_does_not_hydrate_is_an_error_and_stores_nothing() {
    // `create` hydrates the new entity from exactly what it is about to
    // store before it writes anything, so an entity its own events do not
    // hydrate fails with nothing stored, through the pool or an operation.
    let pool = es_entity_tests::pool().await;
    let memos = Memos::new(&pool);
    let id = MemoId::new();

    let err = memos
        .create(NewMemo {
            id,
            title: String::new(),
        })
        .await
        .unwrap_err();
    let CreateError::HydrationError(hydration) = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(hydration.failure(), HydrationFailure::Invalid(_)),
        "{err:?}"
    );
    assert_eq!(hydration.entity_id(), Some(id.to_string().as_str()));
    assert!(err.to_string().contains("a memo needs a title"), "{err}");
    assert!(!index_row_exists(&pool, "memos", id).await);
    assert!(stored_sequences(&pool, "memo_events", id).await.is_empty());

    // Inside an operation the transaction stays usable and holds nothing.
    let id = MemoId::new();
    let mut op = memos.begin_op().await.unwrap();
    let err = memos
        .create_in_op(
            &mut op,
            NewMemo {
                id,
                title: String::new(),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CreateError::HydrationError(_)), "{err:?}");
    let kept = memos
        .create_in_op(
            &mut op,
            NewMemo {
                id: MemoId::new(),
                title: unique("kept"),
            },
        )
        .await
        .unwrap();
    op.commit().await.unwrap();
    assert!(!index_row_exists(&pool, "memos", id).await);
    assert!(index_row_exists(&pool, "memos", kept.id).await);

    // create_all: one entity that does not hydrate fails the whole batch first.
    let good = NewMemo {
        id: MemoId::new(),
        title: unique("good"),
    };
    let bad = NewMemo {
        id: MemoId::new(),
        title: String::new(),
    };
    let (good_id, bad_id) = (good.id, bad.id);
    let err = memos.create_all(vec![good, bad]).await.unwrap_err();
    let CreateError::HydrationError(hydration) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(hydration.entity_id(), Some(bad_id.to_string().as_str()));
    assert!(!index_row_exists(&pool, "memos", good_id).await);
    assert!(!index_row_exists(&pool, "memos", bad_id).await);
}

// An event type one of whose variants does not read back: `Sealed` writes
// no `secret` but requires one when reading. Stored on the memo tables.
#[derive(EsEvent, Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "MemoId")]
pub enum LossyEvent {
    Written {
        title: String,
    },
    Sealed {
        #[serde(skip_serializing)]
        secret: String,
    },
}

#[derive(EsEntity, Debug)]
pub struct Lossy {
    pub id: MemoId,
    events: EntityEvents<LossyEvent>,
}

impl Lossy {
    fn seal(&mut self) {
        self.events.push(LossyEvent::Sealed {
            secret: "never stored".into(),
        });
    }
}

impl TryFromEvents<LossyEvent> for Lossy {
    fn try_from_events(events: EntityEvents<LossyEvent>) -> Result<Self, EntityHydrationError> {
        Ok(Lossy {
            id: *events.id(),
            events,
        })
    }
}

pub struct NewLossy {
    pub(crate) id: MemoId,
    pub(crate) title: String,
    pub(crate) sealed: bool,
}

impl IntoEvents<LossyEvent> for NewLossy {
    fn into_events(self) -> EntityEvents<LossyEvent> {
        let mut events = vec![LossyEvent::Written { title: self.title }];
        if self.sealed {
            events.push(LossyEvent::Sealed {
                secret: "never stored".into(),
            });
        }
        EntityEvents::init(self.id, events)
    }
}

#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Lossy",
    id = "MemoId",
    tbl = "memos",
    events_tbl = "memo_events",
    columns(title(ty = "String", update(persist = false)))
)]
pub struct Lossies {
    pub(crate) pool: sqlx::PgPool,
}

fn is_unreadable_event(e: &EntityHydrationError, id: MemoId, sequence: i64) -> bool {
    matches!(e.failure(), HydrationFailure::BadEvent(err) if err.to_string().contains("secret"))
        && e.sequence() == Some(sequence)
        && e.entity_id() == Some(id.to_string().as_str())
}

#[tokio::test]
async fn create_of_events_that_would_not_read_back_stores_nothing() {
    let pool = es_entity_tests::pool().await;
    let lossies = Lossies { pool: pool.clone() };
    let id = MemoId::new();
    let err = lossies
        .create(NewLossy {
            id,
            title: unique("lossy"),
            sealed: true,
        })
        .await
        .unwrap_err();
    let CreateError::HydrationError(hydration) = &err else {
        panic!("{err:?}")
    };
    assert!(is_unreadable_event(hydration, id, 2), "{err:?}");
    assert!(!index_row_exists(&pool, "memos", id).await);
    assert!(stored_sequences(&pool, "memo_events", id).await.is_empty());
}

#[tokio::test]
async fn updates_with_events_that_would_not_read_back_store_nothing() {
    let pool = es_entity_tests::pool().await;
    let lossies = Lossies { pool: pool.clone() };
    let mut lossy = lossies
        .create(NewLossy {
            id: MemoId::new(),
            title: unique("lossy"),
            sealed: false,
        })
        .await
        .unwrap();
    let id = lossy.id;
    lossy.seal();

    let err = lossies.update(&mut lossy).await.unwrap_err();
    let ModifyError::HydrationError(hydration) = &err else {
        panic!("{err:?}")
    };
    assert!(is_unreadable_event(hydration, id, 2), "{err:?}");
    assert!(err.to_string().contains(&id.to_string()), "{err}");
    assert!(!err.is_concurrent_modification());
    assert!(lossy.events().any_new(), "the event stays unpersisted");

    let mut batch = vec![lossy];
    let err = lossies.update_all(&mut batch).await.unwrap_err();
    assert!(
        matches!(&err, ModifyError::HydrationError(h) if is_unreadable_event(h, id, 2)),
        "{err:?}"
    );
    assert_eq!(stored_sequences(&pool, "memo_events", id).await, [1]);
    let reloaded = lossies.find_by_id(id).await.unwrap();
    assert_eq!(reloaded.events().len_persisted(), 1);
}
