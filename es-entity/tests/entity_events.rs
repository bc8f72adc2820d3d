//! `EntityEvents`: staging, numbering, marking persisted, and hydration from
//! stored rows (`load_first` / `load_n`) with every failure it reports.

use chrono::{DateTime, Duration, TimeZone, Utc};
use es_entity::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
// What a repository's write does with the events, reached as generated
// code reaches it.
use es_entity::__private::EntityEventsExt as _;

entity_id! { AccountId }

#[derive(EsEvent, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "AccountId")]
enum AccountEvent {
    Opened { id: AccountId, owner: String },
    Deposited { amount: u64 },
    Closed,
}

#[derive(EsEntity, Debug)]
struct Account {
    id: AccountId,
    owner: String,
    balance: u64,
    closed: bool,
    events: EntityEvents<AccountEvent>,
}

struct NewAccount {
    id: AccountId,
    owner: String,
}

impl IntoEvents<AccountEvent> for NewAccount {
    fn into_events(self) -> EntityEvents<AccountEvent> {
        EntityEvents::init(
            self.id,
            [AccountEvent::Opened {
                id: self.id,
                owner: self.owner,
            }],
        )
    }
}

impl TryFromEvents<AccountEvent> for Account {
    fn try_from_events(events: EntityEvents<AccountEvent>) -> Result<Self, EntityHydrationError> {
        let (mut opened, mut balance, mut closed) = (None, 0, false);
        for event in events.iter_all() {
            match event {
                AccountEvent::Opened { id, owner } => opened = Some((*id, owner.clone())),
                AccountEvent::Deposited { amount } => balance += amount,
                AccountEvent::Closed => closed = true,
            }
        }
        let (id, owner) = opened.ok_or_else(|| events.missing_field("id"))?;
        Ok(Account {
            id,
            owner,
            balance,
            closed,
            events,
        })
    }
}

fn t(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 10, minute, 0).unwrap()
}

fn deposit(amount: u64) -> AccountEvent {
    AccountEvent::Deposited { amount }
}

fn opened(id: AccountId) -> AccountEvent {
    AccountEvent::Opened {
        id,
        owner: "ada".into(),
    }
}

/// A stored row for `event`, as a repository would read it.
fn row(id: AccountId, sequence: i32, event: &AccountEvent) -> GenericEvent<AccountId> {
    GenericEvent {
        entity_id: id,
        sequence,
        event_type: event.event_type().to_owned(),
        event: serde_json::to_value(event).unwrap().into(),
        context: None,
        recorded_at: t(0) + Duration::seconds(i64::from(sequence)),
    }
}

/// Rows 1..=n for one account: opened, then deposits of 1, 2, ...
fn history(id: AccountId, n: i32) -> Vec<GenericEvent<AccountId>> {
    (1..=n)
        .map(|seq| match seq {
            1 => row(id, 1, &opened(id)),
            _ => row(id, seq, &deposit(u64::try_from(seq).unwrap() - 1)),
        })
        .collect()
}

fn failure_of(err: &EntityHydrationError) -> &HydrationFailure {
    err.failure()
}

#[test]
fn event_types_follow_the_variant_names() {
    assert_eq!(AccountEvent::EVENT_TYPES, ["opened", "deposited", "closed"]);
    assert_eq!(deposit(1).event_type(), "deposited");
    assert_eq!(AccountEvent::Closed.event_type(), "closed");
    // The column and the serde tag agree, which hydration relies on.
    assert_eq!(
        serde_json::to_value(deposit(1)).unwrap()["type"],
        "deposited"
    );
}

#[test]
fn init_stages_every_initial_event_as_new() {
    let id = AccountId::new();
    let events = NewAccount {
        id,
        owner: "ada".into(),
    }
    .into_events();
    assert_eq!(events.id(), &id);
    assert!(events.any_new());
    assert_eq!(events.len_new(), 1);
    assert_eq!(events.len_persisted(), 0);
    assert_eq!(events.iter_new().collect::<Vec<_>>(), [&opened(id)]);

    let empty = EntityEvents::<AccountEvent>::init(id, []);
    assert!(!empty.any_new());
    assert_eq!(empty.iter_all().count(), 0);
}

#[test]
fn push_and_extend_append_in_order() {
    let id = AccountId::new();
    let mut events = EntityEvents::init(id, [opened(id)]);
    events.push(deposit(1));
    events.extend([deposit(2), deposit(3)]);
    events.push_with_context(AccountEvent::Closed, json!({ "by": "ops" }));
    assert_eq!(events.len_new(), 5);
    assert_eq!(
        events.iter_new().cloned().collect::<Vec<_>>(),
        [
            opened(id),
            deposit(1),
            deposit(2),
            deposit(3),
            AccountEvent::Closed
        ]
    );
}

#[test]
fn new_events_for_insert_are_numbered_after_the_persisted_ones() {
    let id = AccountId::new();
    let mut events = EntityEvents::init(id, [opened(id), deposit(1)]);
    let first: Vec<_> = events
        .new_events_for_insert()
        .map(|(seq, e, c)| (seq, e.clone(), c.cloned()))
        .collect();
    assert_eq!(first, [(1, opened(id), None), (2, deposit(1), None)]);

    events.mark_new_events_persisted_at(t(1));
    events.push(deposit(2));
    events.push_with_context(AccountEvent::Closed, json!({ "reason": "test" }));
    let rows = events.new_events_for_insert();
    assert_eq!(rows.len(), 2);
    let second: Vec<_> = rows
        .map(|(seq, e, c)| (seq, e.clone(), c.cloned()))
        .collect();
    assert_eq!(
        second,
        [
            (3, deposit(2), None),
            (4, AccountEvent::Closed, Some(json!({ "reason": "test" })))
        ]
    );
}

#[test]
fn marking_persisted_moves_new_events_and_numbers_them() {
    let id = AccountId::new();
    let mut events = EntityEvents::init(id, [opened(id), deposit(5)]);
    assert_eq!(events.entity_first_persisted_at(), None);
    assert_eq!(events.entity_last_modified_at(), None);

    assert_eq!(events.mark_new_events_persisted_at(t(1)), 2);
    assert!(!events.any_new());
    assert_eq!(events.len_persisted(), 2);

    events.push_with_context(deposit(7), json!({ "request": 42 }));
    assert_eq!(events.mark_new_events_persisted_at(t(2)), 1);
    assert_eq!(
        events.mark_new_events_persisted_at(t(3)),
        0,
        "nothing new to mark"
    );

    let stored: Vec<_> = events
        .iter_persisted()
        .map(|p| {
            (
                p.sequence,
                p.recorded_at,
                p.event.clone(),
                p.context.clone(),
                p.entity_id,
            )
        })
        .collect();
    assert_eq!(
        stored,
        [
            (1, t(1), opened(id), None, id),
            (2, t(1), deposit(5), None, id),
            (3, t(2), deposit(7), Some(json!({ "request": 42 })), id),
        ]
    );
    assert_eq!(events.entity_first_persisted_at(), Some(t(1)));
    assert_eq!(events.entity_last_modified_at(), Some(t(2)));
}

#[test]
fn iter_all_yields_persisted_then_new_in_both_directions() {
    let id = AccountId::new();
    let mut events = EntityEvents::init(id, [opened(id), deposit(1)]);
    events.mark_new_events_persisted_at(t(1));
    events.extend([deposit(2), AccountEvent::Closed]);

    let forward: Vec<_> = events.iter_all().cloned().collect();
    assert_eq!(
        forward,
        [opened(id), deposit(1), deposit(2), AccountEvent::Closed]
    );
    let backward: Vec<_> = events.iter_all().rev().cloned().collect();
    assert_eq!(
        backward,
        [AccountEvent::Closed, deposit(2), deposit(1), opened(id)]
    );

    // Both ends at once meet in the middle without repeating an event.
    let mut both = events.iter_all();
    assert_eq!(both.next(), Some(&opened(id)));
    assert_eq!(both.next_back(), Some(&AccountEvent::Closed));
    assert_eq!(both.next_back(), Some(&deposit(2)));
    assert_eq!(both.next(), Some(&deposit(1)));
    assert_eq!(both.next(), None);
    assert_eq!(both.next_back(), None);
}

#[test]
fn last_persisted_returns_the_newest_stored_events_oldest_first() {
    let id = AccountId::new();
    let mut events = EntityEvents::init(id, [opened(id), deposit(1), deposit(2)]);
    assert_eq!(
        events.last_persisted(2).count(),
        0,
        "new events are not persisted"
    );
    events.mark_new_events_persisted_at(t(1));
    events.push(deposit(3));

    let seqs = |n| {
        events
            .last_persisted(n)
            .map(|p| p.sequence)
            .collect::<Vec<_>>()
    };
    assert_eq!(seqs(0), Vec::<usize>::new());
    assert_eq!(seqs(1), [3]);
    assert_eq!(seqs(2), [2, 3]);
    assert_eq!(seqs(10), [1, 2, 3]);
    assert_eq!(
        events
            .last_persisted(2)
            .rev()
            .map(|p| p.sequence)
            .collect::<Vec<_>>(),
        [3, 2]
    );
}

#[test]
fn last_persisted_is_exact_size_and_gives_a_slice() {
    let id = AccountId::new();
    let mut events = EntityEvents::init(id, [opened(id), deposit(1), deposit(2)]);
    events.mark_new_events_persisted_at(t(1));
    let mut last = events.last_persisted(2);
    assert_eq!(last.len(), 2);
    assert_eq!(last.as_slice()[0].event, deposit(1));
    assert_eq!(last.next().map(|p| p.sequence), Some(2));
    assert_eq!(last.len(), 1);
    assert_eq!(last.as_slice().len(), 1);
    assert_eq!(last.clone().count(), 1);
}

#[test]
fn unmarking_puts_the_last_persisted_events_back_as_new() {
    let id = AccountId::new();
    let mut events = EntityEvents::init(id, [opened(id)]);
    events.mark_new_events_persisted_at(t(1));
    events.push(deposit(1));
    events.push_with_context(deposit(2), json!({ "by": "teller" }));
    assert_eq!(events.mark_new_events_persisted_at(t(2)), 2);

    events.unmark_last_persisted(2);
    assert_eq!(events.len_persisted(), 1);
    assert_eq!(
        events.iter_new().cloned().collect::<Vec<_>>(),
        [deposit(1), deposit(2)]
    );
    // They are written again as they were: same sequences, same context.
    let again: Vec<_> = events
        .new_events_for_insert()
        .map(|(seq, e, c)| (seq, e.clone(), c.cloned()))
        .collect();
    assert_eq!(
        again,
        [
            (2, deposit(1), None),
            (3, deposit(2), Some(json!({ "by": "teller" })))
        ]
    );
    events.unmark_last_persisted(0);
    assert_eq!(events.len_new(), 2);
}

#[test]
fn load_first_rebuilds_one_entity_as_persisted() {
    let id = AccountId::new();
    let mut rows = history(id, 3);
    rows[2].context = Some(json!({ "ip": "127.0.0.1" }));

    let account: Account = EntityEvents::load_first(rows).unwrap();
    assert_eq!(
        (
            account.id,
            account.owner.as_str(),
            account.balance,
            account.closed
        ),
        (id, "ada", 3, false)
    );
    let events = account.events();
    assert!(!events.any_new());
    assert_eq!(events.len_persisted(), 3);
    assert_eq!(
        events.entity_first_persisted_at(),
        Some(t(0) + Duration::seconds(1))
    );
    assert_eq!(
        events.entity_last_modified_at(),
        Some(t(0) + Duration::seconds(3))
    );
    let last = events.last_persisted(1).next().unwrap();
    assert_eq!(last.sequence, 3);
    assert_eq!(last.context, Some(json!({ "ip": "127.0.0.1" })));
}

#[test]
fn load_first_without_rows_is_not_found() {
    let err =
        EntityEvents::load_first::<Account>(Vec::<GenericEvent<AccountId>>::new()).unwrap_err();
    assert!(
        matches!(failure_of(&err), HydrationFailure::NotFound),
        "{err}"
    );
    assert_eq!(err.entity_id(), None);
}

#[test]
fn load_first_takes_only_the_first_entity() {
    let (a, b) = (AccountId::new(), AccountId::new());
    let rows = history(a, 2).into_iter().chain(history(b, 4));
    let account: Account = EntityEvents::load_first(rows).unwrap();
    assert_eq!(account.id, a);
    assert_eq!(account.balance, 1);
}

#[test]
fn load_n_groups_rows_by_entity_and_reports_more() {
    let ids = [AccountId::new(), AccountId::new(), AccountId::new()];
    let rows = || -> Vec<_> {
        ids.iter()
            .zip([1, 3, 2])
            .flat_map(|(id, n)| history(*id, n))
            .collect()
    };

    let (page, more) = EntityEvents::load_n::<Account>(rows(), 2).unwrap();
    assert!(more, "a third entity followed");
    assert_eq!(
        page.iter().map(|a| (a.id, a.balance)).collect::<Vec<_>>(),
        [(ids[0], 0), (ids[1], 3)]
    );
    assert_eq!(page[1].events().len_persisted(), 3);

    let (page, more) = EntityEvents::load_n::<Account>(rows(), 3).unwrap();
    assert!(!more, "exactly n entities: nothing more");
    assert_eq!(page.iter().map(|a| a.id).collect::<Vec<_>>(), ids);

    let (page, more) = EntityEvents::load_n::<Account>(rows(), 10).unwrap();
    assert_eq!((page.len(), more), (3, false));

    let (page, more) =
        EntityEvents::load_n::<Account>(Vec::<GenericEvent<AccountId>>::new(), 10).unwrap();
    assert_eq!((page.len(), more), (0, false));

    let (page, more) = EntityEvents::load_n::<Account>(rows(), 0).unwrap();
    assert_eq!((page.len(), more), (0, true));
}

#[test]
fn a_sequence_gap_is_an_error_naming_entity_and_sequence() {
    let id = AccountId::new();
    let mut rows = history(id, 4);
    rows.remove(2); // sequences 1, 2, 4
    let err = EntityEvents::load_first::<Account>(rows).unwrap_err();
    assert!(
        matches!(
            failure_of(&err),
            HydrationFailure::SequenceGap {
                expected: 3,
                found: 4
            }
        ),
        "{err}"
    );
    assert_eq!(err.entity_id(), Some(id.to_string().as_str()));
    assert_eq!(err.sequence(), Some(4));
    assert_eq!(
        err.to_string(),
        format!("cannot hydrate entity {id} at event 4: sequence gap: expected 3, found 4")
    );
}

#[test]
fn a_history_must_start_at_sequence_one() {
    let id = AccountId::new();
    let rows = history(id, 3).split_off(1); // sequences 2, 3
    let err = EntityEvents::load_first::<Account>(rows).unwrap_err();
    assert!(
        matches!(
            failure_of(&err),
            HydrationFailure::SequenceGap {
                expected: 1,
                found: 2
            }
        ),
        "{err}"
    );
}

#[test]
fn rows_must_be_grouped_by_entity() {
    let (a, b) = (AccountId::new(), AccountId::new());
    let rows = vec![
        row(a, 1, &opened(a)),
        row(b, 1, &opened(b)),
        row(a, 2, &deposit(1)),
    ];
    let err = EntityEvents::load_n::<Account>(rows, 10).unwrap_err();
    assert!(
        matches!(
            failure_of(&err),
            HydrationFailure::SequenceGap {
                expected: 1,
                found: 2
            }
        ),
        "{err}"
    );
    assert_eq!(err.entity_id(), Some(a.to_string().as_str()));
}

#[test]
fn an_unknown_event_type_is_reported_by_name() {
    let id = AccountId::new();
    let mut rows = history(id, 1);
    rows.push(GenericEvent {
        event_type: "renamed".into(),
        event: json!({ "type": "renamed", "to": "bob" }).into(),
        ..row(id, 2, &deposit(1))
    });
    let err = EntityEvents::load_first::<Account>(rows).unwrap_err();
    match failure_of(&err) {
        HydrationFailure::UnknownEventType(name) => assert_eq!(name, "renamed"),
        other => panic!("expected UnknownEventType, got {other:?}"),
    }
    assert_eq!(err.sequence(), Some(2));
    assert!(
        err.to_string().contains("unknown event type `renamed`"),
        "{err}"
    );
}

#[test]
fn a_payload_that_does_not_decode_is_a_bad_event() {
    let id = AccountId::new();
    let mut rows = history(id, 1);
    rows.push(GenericEvent {
        event: json!({ "type": "deposited", "amount": "lots" }).into(),
        ..row(id, 2, &deposit(1))
    });
    let err = EntityEvents::load_first::<Account>(rows).unwrap_err();
    assert!(
        matches!(failure_of(&err), HydrationFailure::BadEvent(_)),
        "{err}"
    );
    assert_eq!(err.sequence(), Some(2));
    let source = std::error::Error::source(&err).expect("the serde error is the source");
    assert!(source.to_string().contains("invalid type"), "{source}");
}

#[test]
fn missing_field_comes_from_the_entity() {
    let id = AccountId::new();
    let rows = vec![row(id, 1, &deposit(10))];
    let err = EntityEvents::load_first::<Account>(rows).unwrap_err();
    assert!(
        matches!(failure_of(&err), HydrationFailure::MissingField("id")),
        "{err}"
    );
    assert_eq!(err.entity_id(), Some(id.to_string().as_str()));
    assert_eq!(err.sequence(), None);
    assert!(err.to_string().ends_with("no event sets `id`"), "{err}");

    // The same failure from a later entity of a page stops the whole page.
    let other = AccountId::new();
    let rows = history(other, 2)
        .into_iter()
        .chain([row(id, 1, &deposit(10))]);
    let err = EntityEvents::load_n::<Account>(rows, 5).unwrap_err();
    assert_eq!(err.entity_id(), Some(id.to_string().as_str()));
}

#[test]
fn an_event_type_column_that_disagrees_with_the_json_is_rejected() {
    let id = AccountId::new();
    let mut rows = history(id, 2);
    // The JSON says deposit; the column claims it opened the account.
    rows[1].event_type = opened(id).event_type().to_owned();
    let err = EntityEvents::load_first::<Account>(rows).unwrap_err();
    match failure_of(&err) {
        HydrationFailure::EventTypeMismatch { stored, decoded } => {
            assert_eq!(stored, opened(id).event_type());
            assert_eq!(*decoded, deposit(1).event_type());
        }
        other => panic!("expected EventTypeMismatch, got {other:?}"),
    }
    assert_eq!(err.sequence(), Some(2));
    assert_eq!(err.entity_id(), Some(id.to_string().as_str()));
}

#[test]
fn an_index_row_without_events_is_named() {
    // Reads LEFT JOIN the events: an index row without any comes back as one
    // row with sequence 0.
    let id = AccountId::new();
    let mut marker = row(id, 1, &opened(id));
    marker.sequence = 0;
    let err = EntityEvents::load_first::<Account>(vec![marker]).unwrap_err();
    assert!(
        matches!(failure_of(&err), HydrationFailure::NoEvents),
        "{err}"
    );
    assert_eq!(err.entity_id(), Some(id.to_string().as_str()));
    assert_eq!(err.sequence(), None);
}
