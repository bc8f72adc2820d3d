//! Property tests (no database): `EntityEvents` under random pushes, extends
//! and persists keeps its invariants and round-trips through the rows a
//! repository reads; listing cursors and ids round-trip through JSON, and
//! arbitrary client tokens never make decoding panic.

use chrono::{DateTime, TimeZone, Utc};
use es_entity::*;
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::book_list::{
    TaskByCreatedAtCursor, TaskByIdCursor, TaskByPriorityCursor, TaskByTitleCursor, TaskCursor,
    TaskId,
};
use crate::book_retry::{Account, AccountByIdCursor, AccountEvent, AccountId};
// What a repository's write does with the events, reached as generated
// code reaches it.
use es_entity::__private::EntityEventsExt as _;

// ---------------------------------------------------------------------------
// EntityEvents

#[derive(Debug, Clone)]
enum Step {
    Push(AccountEvent),
    PushWithContext(AccountEvent, serde_json::Value),
    Extend(Vec<AccountEvent>),
    /// `mark_new_events_persisted_at` at this many seconds after the epoch.
    Persist(i64),
}

fn amount() -> impl Strategy<Value = i64> {
    -1_000_000_000i64..1_000_000_000
}

fn event() -> impl Strategy<Value = AccountEvent> {
    prop_oneof![
        any::<String>().prop_map(|name| AccountEvent::Opened { name }),
        amount().prop_map(|amount| AccountEvent::Deposited { amount }),
        amount().prop_map(|amount| AccountEvent::Withdrawn { amount }),
    ]
}

fn context() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<i32>().prop_map(serde_json::Value::from),
        any::<String>().prop_map(|s| serde_json::json!({ "by": s })),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => event().prop_map(Step::Push),
        1 => (event(), context()).prop_map(|(e, c)| Step::PushWithContext(e, c)),
        1 => prop::collection::vec(event(), 0..5).prop_map(Step::Extend),
        2 => (0i64..4_000_000_000).prop_map(Step::Persist),
    ]
}

fn json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).unwrap()
}

/// The model: every event as JSON with its context, how many are persisted,
/// and the time each persisted one was marked with.
#[derive(Default)]
struct Model {
    all: Vec<(serde_json::Value, Option<serde_json::Value>)>,
    persisted_at: Vec<DateTime<Utc>>,
}

fn check(events: &EntityEvents<AccountEvent>, model: &Model) -> Result<(), TestCaseError> {
    let (persisted, new) = (events.len_persisted(), events.len_new());
    prop_assert_eq!(persisted + new, events.iter_all().count());
    prop_assert_eq!(persisted, model.persisted_at.len());
    prop_assert_eq!(events.any_new(), new > 0);

    let all: Vec<_> = events.iter_all().map(json).collect();
    let expected: Vec<_> = model.all.iter().map(|(e, _)| e.clone()).collect();
    prop_assert_eq!(&all, &expected);
    let mut reversed: Vec<_> = events.iter_all().rev().map(json).collect();
    reversed.reverse();
    prop_assert_eq!(&reversed, &all);

    let sequences: Vec<usize> = events.iter_persisted().map(|p| p.sequence).collect();
    prop_assert_eq!(sequences, (1..=persisted).collect::<Vec<_>>());
    for (p, (e, c)) in events.iter_persisted().zip(&model.all) {
        prop_assert_eq!(&json(&p.event), e);
        prop_assert_eq!(&p.context, c);
        prop_assert_eq!(p.recorded_at, model.persisted_at[p.sequence - 1]);
        prop_assert_eq!(&p.entity_id, events.id());
    }
    for k in 0..=persisted + 2 {
        let suffix: Vec<usize> = events.last_persisted(k).map(|p| p.sequence).collect();
        let from = persisted.saturating_sub(k) + 1;
        prop_assert_eq!(suffix, (from..=persisted).collect::<Vec<_>>());
    }
    let to_insert: Vec<i32> = events.new_events_for_insert().map(|(s, _, _)| s).collect();
    prop_assert_eq!(
        to_insert,
        ((persisted + 1) as i32..=(persisted + new) as i32).collect::<Vec<_>>()
    );
    prop_assert_eq!(
        events.entity_first_persisted_at(),
        model.persisted_at.first().copied()
    );
    prop_assert_eq!(
        events.entity_last_modified_at(),
        model.persisted_at.last().copied()
    );
    Ok(())
}

/// A history that opens an account (so it hydrates), then `steps`.
fn run(id: AccountId, steps: &[Step]) -> Result<EntityEvents<AccountEvent>, TestCaseError> {
    let opened = AccountEvent::Opened { name: "p".into() };
    let mut events = EntityEvents::init(id, [opened.clone()]);
    let mut model = Model {
        all: vec![(json(&opened), None)],
        persisted_at: Vec::new(),
    };
    check(&events, &model)?;
    for step in steps {
        match step.clone() {
            Step::Push(e) => {
                model.all.push((json(&e), None));
                events.push(e);
            }
            Step::PushWithContext(e, c) => {
                model.all.push((json(&e), Some(c.clone())));
                events.push_with_context(e, c);
            }
            Step::Extend(es) => {
                model.all.extend(es.iter().map(|e| (json(e), None)));
                events.extend(es);
            }
            Step::Persist(secs) => {
                let pending = model.all.len() - model.persisted_at.len();
                prop_assert_eq!(events.mark_new_events_persisted_at(at(secs)), pending);
                model
                    .persisted_at
                    .extend(std::iter::repeat_n(at(secs), pending));
            }
        }
        check(&events, &model)?;
    }
    Ok(events)
}

/// The rows a repository would read back for these persisted events.
fn rows(events: &EntityEvents<AccountEvent>) -> Vec<GenericEvent<AccountId>> {
    events
        .iter_persisted()
        .map(|p| GenericEvent {
            entity_id: p.entity_id,
            sequence: p.sequence as i32,
            event_type: p.event.event_type().to_owned(),
            event: EventJson::from(json(&p.event)),
            context: p.context.clone(),
            recorded_at: p.recorded_at,
        })
        .collect()
}

fn same_history(
    loaded: &EntityEvents<AccountEvent>,
    original: &EntityEvents<AccountEvent>,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(loaded.id(), original.id());
    prop_assert_eq!(loaded.len_new(), 0);
    prop_assert_eq!(loaded.len_persisted(), original.len_persisted());
    for (a, b) in loaded.iter_persisted().zip(original.iter_persisted()) {
        prop_assert_eq!(a.sequence, b.sequence);
        prop_assert_eq!(json(&a.event), json(&b.event));
        prop_assert_eq!(&a.context, &b.context);
        prop_assert_eq!(a.recorded_at, b.recorded_at);
    }
    Ok(())
}

/// The balance an account's persisted events add up to.
fn balance(events: &EntityEvents<AccountEvent>) -> i64 {
    events
        .iter_persisted()
        .map(|p| match p.event {
            AccountEvent::Opened { .. } => 0,
            AccountEvent::Deposited { amount } => amount,
            AccountEvent::Withdrawn { amount } => -amount,
        })
        .sum()
}

proptest! {
    #[test]
    fn entity_events_keep_their_invariants(steps in prop::collection::vec(step(), 0..40)) {
        run(AccountId::new(), &steps)?;
    }

    #[test]
    fn persisted_events_round_trip_through_rows(
        histories in prop::collection::vec(prop::collection::vec(step(), 0..20), 1..5),
        take in 0usize..6,
    ) {
        let mut originals = Vec::new();
        for steps in &histories {
            let events = run(AccountId::new(), steps)?;
            if events.len_persisted() > 0 {
                originals.push(events);
            }
        }
        // One entity.
        if let Some(first) = originals.first() {
            let account: Account = EntityEvents::load_first(rows(first)).unwrap();
            prop_assert_eq!(account.id, *first.id());
            prop_assert_eq!(account.balance, balance(first));
            same_history(account.events(), first)?;
        }
        // Several, grouped by entity: the first `take`, and whether more followed.
        let all_rows: Vec<_> = originals.iter().flat_map(rows).collect();
        let (loaded, more) = EntityEvents::<AccountEvent>::load_n::<Account>(all_rows, take).unwrap();
        prop_assert_eq!(loaded.len(), take.min(originals.len()));
        prop_assert_eq!(more, originals.len() > take);
        for (account, original) in loaded.iter().zip(&originals) {
            same_history(account.events(), original)?;
        }
    }

    /// A missing row anywhere is a sequence gap naming the entity and the
    /// sequence found in its place.
    #[test]
    fn a_dropped_row_is_a_gap_naming_entity_and_sequence(
        steps in prop::collection::vec(step(), 1..20),
        pick in any::<prop::sample::Index>(),
    ) {
        let mut events = run(AccountId::new(), &steps)?;
        events.mark_new_events_persisted_at(at(0));
        let mut rows = rows(&events);
        prop_assume!(rows.len() >= 2);
        let dropped = pick.index(rows.len() - 1); // never the last: it leaves no gap
        rows.remove(dropped);
        let err = EntityEvents::load_first::<Account>(rows).unwrap_err();
        let id = events.id().to_string();
        prop_assert_eq!(err.entity_id(), Some(id.as_str()));
        prop_assert_eq!(err.sequence(), Some(dropped as i64 + 2));
        let is_gap = matches!(
            err.failure(),
            HydrationFailure::SequenceGap { expected, found }
                if *expected == dropped + 1 && *found == dropped as i64 + 2
        );
        prop_assert!(is_gap, "{:?}", err.failure());
    }
}

// ---------------------------------------------------------------------------
// Cursors and ids

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

fn timestamp() -> impl Strategy<Value = DateTime<Utc>> {
    // Years 1 to 9999 with nanoseconds, the range RFC 3339 text covers.
    (-62_135_596_800i64..253_402_300_799, 0u32..1_000_000_000)
        .prop_map(|(s, n)| Utc.timestamp_opt(s, n).unwrap())
}

fn task_cursor() -> impl Strategy<Value = TaskCursor> {
    let id = || uuid().prop_map(TaskId::from);
    prop_oneof![
        id().prop_map(|id| TaskCursor::ById(TaskByIdCursor { id })),
        (id(), timestamp()).prop_map(|(id, created_at)| TaskCursor::ByCreatedAt(
            TaskByCreatedAtCursor { id, created_at }
        )),
        (id(), any::<String>())
            .prop_map(|(id, title)| TaskCursor::ByTitle(TaskByTitleCursor { id, title })),
        (id(), any::<Option<i32>>()).prop_map(|(id, priority)| TaskCursor::ByPriority(
            TaskByPriorityCursor { id, priority }
        )),
    ]
}

/// Serialize, deserialize, serialize again: the two texts are equal (the
/// cursors have no `PartialEq`; the serialized form is what a client holds).
fn round_trip<T: Serialize + DeserializeOwned>(value: &T) -> Result<T, TestCaseError> {
    let token = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&token).unwrap();
    prop_assert_eq!(serde_json::to_string(&back).unwrap(), token);
    // Through `serde_json::Value` (another deserializer) as well.
    let via_value: T = serde_json::from_value(serde_json::to_value(value).unwrap()).unwrap();
    prop_assert_eq!(
        serde_json::to_string(&via_value).unwrap(),
        serde_json::to_string(value).unwrap()
    );
    Ok(back)
}

proptest! {
    #[test]
    fn title_cursors_round_trip(id in uuid(), title in any::<String>()) {
        let back = round_trip(&TaskByTitleCursor { id: TaskId::from(id), title: title.clone() })?;
        prop_assert_eq!((back.id, back.title), (TaskId::from(id), title));
    }

    #[test]
    fn priority_cursors_round_trip(id in uuid(), priority in any::<Option<i32>>()) {
        let back = round_trip(&TaskByPriorityCursor { id: TaskId::from(id), priority })?;
        prop_assert_eq!((back.id, back.priority), (TaskId::from(id), priority));
    }

    #[test]
    fn created_at_cursors_round_trip(id in uuid(), created_at in timestamp()) {
        let back = round_trip(&TaskByCreatedAtCursor { id: TaskId::from(id), created_at })?;
        prop_assert_eq!((back.id, back.created_at), (TaskId::from(id), created_at));
    }

    #[test]
    fn any_order_cursors_round_trip_and_keep_their_order(cursor in task_cursor()) {
        let back = round_trip(&cursor)?;
        prop_assert_eq!(back.sort_by(), cursor.sort_by());
    }

    #[test]
    fn ids_round_trip(raw in uuid()) {
        let id = AccountId::from(raw);
        let back = round_trip(&id)?;
        prop_assert_eq!(back, id);
        prop_assert_eq!(Uuid::from(back), raw);
        prop_assert_eq!(id.to_string().parse::<AccountId>().unwrap(), id);
        prop_assert_eq!(serde_json::to_string(&id).unwrap(), serde_json::to_string(&raw).unwrap());
        let cursor = round_trip(&AccountByIdCursor { id })?;
        prop_assert_eq!(cursor.id, id);
    }

    /// Whatever a client sends as a cursor, decoding returns (mostly an
    /// error) and never panics.
    #[test]
    fn arbitrary_tokens_never_panic(token in any::<String>(), key in "[A-Za-z]{0,12}", text in any::<String>()) {
        let _ = serde_json::from_str::<TaskCursor>(&token);
        let _ = serde_json::from_str::<TaskByTitleCursor>(&token);
        let _ = serde_json::from_str::<AccountId>(&token);
        let mut shaped = serde_json::Map::new();
        shaped.insert(key, serde_json::json!({ "id": text.clone(), "title": text }));
        let shaped = serde_json::Value::Object(shaped).to_string();
        let _ = serde_json::from_str::<TaskCursor>(&shaped);
    }
}
