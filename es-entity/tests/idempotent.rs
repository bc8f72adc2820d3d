//! `Idempotent` and `idempotency_guard!`: plain matches, `if` conditions,
//! `resets_on`, or-patterns, and guards over an entity's history.

use es_entity::*;
use serde::{Deserialize, Serialize};

entity_id! { DoorId }

#[derive(EsEvent, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "DoorId")]
enum DoorEvent {
    Installed { id: DoorId },
    Locked { by: String },
    Unlocked,
    Painted { colour: String },
    Removed,
    Replaced,
}

use DoorEvent::*;
// What a repository's write does with the events, reached as generated
// code reaches it.
use es_entity::__private::EntityEventsExt as _;

fn lock(events: &mut EntityEvents<DoorEvent>, by: &str) -> Idempotent<usize> {
    idempotency_guard!(
        events.iter_all().rev(),
        already_applied: Locked { .. },
        resets_on: Unlocked
    );
    events.push(Locked { by: by.to_owned() });
    Idempotent::Executed(events.len_new())
}

fn paint(events: &mut EntityEvents<DoorEvent>, colour: &str) -> Idempotent<()> {
    idempotency_guard!(
        events.iter_all().rev(),
        already_applied: Painted { colour: c } if c == colour,
    );
    events.push(Painted {
        colour: colour.to_owned(),
    });
    Idempotent::Executed(())
}

fn remove(events: &mut EntityEvents<DoorEvent>) -> Idempotent<()> {
    idempotency_guard!(
        events.iter_all().rev(),
        already_applied: Removed | Replaced,
    );
    events.push(Removed);
    Idempotent::Executed(())
}

/// Locks by the same person are skipped until an unlock.
fn lock_by(events: &mut EntityEvents<DoorEvent>, by: &str) -> Idempotent<()> {
    idempotency_guard!(
        events.iter_all().rev(),
        already_applied: Locked { by: who } if who == by,
        resets_on: Unlocked,
    );
    events.push(Locked { by: by.to_owned() });
    Idempotent::Executed(())
}

fn door() -> EntityEvents<DoorEvent> {
    let id = DoorId::new();
    EntityEvents::init(id, [Installed { id }])
}

#[test]
fn idempotent_reports_what_happened() {
    let ran: Idempotent<&str> = Idempotent::Executed("done");
    assert!(ran.did_execute());
    assert!(!ran.was_already_applied());
    assert_eq!(ran.executed(), Some("done"));
    assert_eq!(ran.unwrap(), "done");

    let skipped: Idempotent<&str> = Idempotent::AlreadyApplied;
    assert!(!skipped.did_execute());
    assert!(skipped.was_already_applied());
    assert_eq!(skipped.executed(), None);
}

#[test]
#[should_panic(expected = "called `Idempotent::unwrap()` on `AlreadyApplied`")]
fn unwrap_on_already_applied_panics() {
    Idempotent::<()>::AlreadyApplied.unwrap();
}

#[test]
fn guard_skips_a_command_whose_event_is_present() {
    let mut events = door();
    assert_eq!(lock(&mut events, "ann"), Idempotent::Executed(2));
    assert_eq!(lock(&mut events, "bob"), Idempotent::AlreadyApplied);
    assert_eq!(events.len_new(), 2);
}

#[test]
fn guard_over_no_events_lets_the_command_run() {
    let mut events = EntityEvents::init(DoorId::new(), []);
    assert!(lock(&mut events, "ann").did_execute());
}

#[test]
fn guard_with_if_only_counts_matching_events() {
    let mut events = door();
    assert!(paint(&mut events, "red").did_execute());
    assert!(paint(&mut events, "red").was_already_applied());
    assert!(paint(&mut events, "blue").did_execute());
    // Without resets_on the whole history counts: red was applied once.
    assert!(paint(&mut events, "red").was_already_applied());
    assert_eq!(
        events
            .iter_new()
            .filter(|e| matches!(e, Painted { .. }))
            .count(),
        2
    );
}

#[test]
fn resets_on_allows_the_command_again() {
    let mut events = door();
    assert!(lock(&mut events, "ann").did_execute());
    events.push(Unlocked);
    assert!(
        lock(&mut events, "ann").did_execute(),
        "the unlock reset the guard"
    );
    assert!(lock(&mut events, "ann").was_already_applied());
    // An older unlock does not matter: the newest relevant event is a lock.
    events.push(Painted {
        colour: "green".into(),
    });
    assert!(lock(&mut events, "ann").was_already_applied());
}

#[test]
fn resets_on_combines_with_if() {
    let mut events = door();
    assert!(lock_by(&mut events, "ann").did_execute());
    assert!(lock_by(&mut events, "ann").was_already_applied());
    assert!(
        lock_by(&mut events, "bob").did_execute(),
        "another person's lock is not a repeat"
    );
    events.push(Unlocked);
    assert!(lock_by(&mut events, "ann").did_execute());
}

#[test]
fn or_patterns_match_any_of_several_events() {
    let mut events = door();
    assert!(remove(&mut events).did_execute());
    assert!(remove(&mut events).was_already_applied());

    let mut replaced = door();
    replaced.push(Replaced);
    assert!(remove(&mut replaced).was_already_applied());
}

#[test]
fn guards_see_persisted_and_new_events() {
    let mut events = door();
    assert!(lock(&mut events, "ann").did_execute());
    events.mark_new_events_persisted_at(chrono::Utc::now());
    assert!(!events.any_new());
    assert!(
        lock(&mut events, "ann").was_already_applied(),
        "the stored lock counts"
    );
    events.push(Unlocked);
    assert!(
        lock(&mut events, "ann").did_execute(),
        "a new unlock resets over stored events"
    );
}

/// Setting a value to what it already is: the newest `Painted` decides, so an
/// event matching both patterns must count as applied, not as a reset.
#[test]
fn an_event_matching_both_patterns_counts_as_applied() {
    fn repaint(events: &mut EntityEvents<DoorEvent>, colour: &str) -> Idempotent<()> {
        idempotency_guard!(
            events.iter_all().rev(),
            already_applied: Painted { colour: c } if c == colour,
            resets_on: Painted { .. }
        );
        events.push(Painted {
            colour: colour.to_owned(),
        });
        Idempotent::Executed(())
    }
    let mut events = door();
    assert!(repaint(&mut events, "red").did_execute());
    assert!(repaint(&mut events, "red").was_already_applied());
    assert!(repaint(&mut events, "blue").did_execute());
    assert!(repaint(&mut events, "red").did_execute());
}

#[derive(Debug, PartialEq)]
enum PaintError {
    NoColour,
    DoorRemoved,
}

/// A fallible command: the guard returns `Ok(AlreadyApplied)`, the command's
/// own checks return `Err`, and `?` works as usual.
fn paint_checked(
    events: &mut EntityEvents<DoorEvent>,
    colour: &str,
) -> Result<Idempotent<usize>, PaintError> {
    idempotency_guard!(
        events.iter_all().rev(),
        already_applied: Painted { colour: c } if c == colour,
        resets_on: Painted { .. }
    );
    if colour.is_empty() {
        return Err(PaintError::NoColour);
    }
    not_removed(events)?;
    events.push(Painted {
        colour: colour.to_owned(),
    });
    Ok(Idempotent::Executed(events.len_new()))
}

fn not_removed(events: &EntityEvents<DoorEvent>) -> Result<(), PaintError> {
    if events.iter_all().any(|e| matches!(e, Removed)) {
        return Err(PaintError::DoorRemoved);
    }
    Ok(())
}

#[test]
fn guard_in_a_command_returning_result() {
    let mut events = door();
    assert_eq!(
        paint_checked(&mut events, "red"),
        Ok(Idempotent::Executed(2))
    );
    assert_eq!(
        paint_checked(&mut events, "red"),
        Ok(Idempotent::AlreadyApplied)
    );
    assert_eq!(paint_checked(&mut events, ""), Err(PaintError::NoColour));
    events.push(Removed);
    assert_eq!(
        paint_checked(&mut events, "red"),
        Ok(Idempotent::AlreadyApplied),
        "the guard runs before the command's checks"
    );
    assert_eq!(
        paint_checked(&mut events, "blue"),
        Err(PaintError::DoorRemoved)
    );
    assert_eq!(
        events
            .iter_new()
            .filter(|e| matches!(e, Painted { .. }))
            .count(),
        1
    );
}

#[test]
fn guard_in_a_command_returning_result_without_resets_on() {
    fn lock_checked(
        events: &mut EntityEvents<DoorEvent>,
        by: &str,
    ) -> Result<Idempotent<()>, PaintError> {
        idempotency_guard!(events.iter_all().rev(), already_applied: Locked { .. });
        not_removed(events)?;
        events.push(Locked { by: by.to_owned() });
        Ok(Idempotent::Executed(()))
    }
    let mut events = door();
    assert_eq!(
        lock_checked(&mut events, "ann"),
        Ok(Idempotent::Executed(()))
    );
    assert_eq!(
        lock_checked(&mut events, "bob"),
        Ok(Idempotent::AlreadyApplied)
    );
    let mut removed = door();
    removed.push(Removed);
    assert_eq!(
        lock_checked(&mut removed, "ann"),
        Err(PaintError::DoorRemoved)
    );
}

#[tokio::test]
async fn guard_in_an_async_command_returning_result() {
    async fn unlock(events: &mut EntityEvents<DoorEvent>) -> Result<Idempotent<()>, PaintError> {
        idempotency_guard!(
            events.iter_all().rev(),
            already_applied: Unlocked,
            resets_on: Locked { .. }
        );
        tokio::task::yield_now().await;
        events.push(Unlocked);
        Ok(Idempotent::Executed(()))
    }
    let mut events = door();
    assert_eq!(unlock(&mut events).await, Ok(Idempotent::Executed(())));
    assert_eq!(unlock(&mut events).await, Ok(Idempotent::AlreadyApplied));
    events.push(Locked { by: "ann".into() });
    assert_eq!(unlock(&mut events).await, Ok(Idempotent::Executed(())));
}
