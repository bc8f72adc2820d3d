//! `es_entity::testing`: entities built from a history as a repository
//! would load them, each `then_*` check passing and failing, and the
//! failure messages: readable, and pointing at the test's own line.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe, Location};
use std::sync::Once;

use es_entity::testing::{given, given_new, try_given};
use es_entity::*;
use serde::{Deserialize, Serialize};

entity_id! { AccountId }

/// No `PartialEq` or `Debug`: the kit compares events by their JSON.
#[derive(EsEvent, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "AccountId")]
enum AccountEvent {
    Opened {
        id: AccountId,
        owner: String,
    },
    Deposited {
        reference: String,
        amount: u64,
        memo: Memo,
    },
    Withdrawn {
        amount: u64,
    },
    Frozen,
    Unfrozen,
    /// Written but never read back: its JSON lacks `note`, as a stored row
    /// would.
    Annotated {
        #[serde(skip_serializing)]
        note: String,
    },
    /// Never serializes: JSON object keys must be strings.
    Paired {
        pairs: HashMap<(u8, u8), u8>,
    },
}

#[derive(Clone, Serialize, Deserialize)]
struct Memo {
    channel: String,
    lines: Vec<String>,
}

fn memo(channel: &str, lines: &[&str]) -> Memo {
    Memo {
        channel: channel.to_owned(),
        lines: lines.iter().map(|l| (*l).to_owned()).collect(),
    }
}

#[derive(EsEntity)]
struct Account {
    id: AccountId,
    owner: String,
    balance: u64,
    frozen: bool,
    events: EntityEvents<AccountEvent>,
}

#[derive(Debug, PartialEq)]
enum AccountError {
    Frozen,
    Insufficient { balance: u64 },
}

impl Account {
    /// Each deposit reference counts once.
    fn deposit(&mut self, reference: &str, amount: u64) -> Idempotent<u64> {
        idempotency_guard!(
            self.events.iter_all().rev(),
            already_applied: AccountEvent::Deposited { reference: r, .. } if r == reference
        );
        self.balance += amount;
        self.events.push(AccountEvent::Deposited {
            reference: reference.to_owned(),
            amount,
            memo: memo("web", &["thanks"]),
        });
        Idempotent::Executed(self.balance)
    }

    fn withdraw(&mut self, amount: u64) -> Result<u64, AccountError> {
        if self.frozen {
            return Err(AccountError::Frozen);
        }
        if amount > self.balance {
            return Err(AccountError::Insufficient {
                balance: self.balance,
            });
        }
        self.balance -= amount;
        self.events.push(AccountEvent::Withdrawn { amount });
        Ok(self.balance)
    }

    fn freeze(&mut self) -> Result<Idempotent<()>, AccountError> {
        idempotency_guard!(
            self.events.iter_all().rev(),
            already_applied: AccountEvent::Frozen,
            resets_on: AccountEvent::Unfrozen
        );
        if self.balance == 0 {
            return Err(AccountError::Insufficient { balance: 0 });
        }
        self.frozen = true;
        self.events.push(AccountEvent::Frozen);
        Ok(Idempotent::Executed(()))
    }

    fn unfreeze(&mut self) -> Idempotent<()> {
        idempotency_guard!(
            self.events.iter_all().rev(),
            already_applied: AccountEvent::Unfrozen | AccountEvent::Opened { .. },
            resets_on: AccountEvent::Frozen
        );
        self.frozen = false;
        self.events.push(AccountEvent::Unfrozen);
        Idempotent::Executed(())
    }

    /// A buggy command: records an event no repository could store.
    fn pair(&mut self) {
        self.events.push(paired());
    }

    /// A command with nothing to record.
    fn look(&mut self) {}

    /// A buggy command: records an event, then refuses.
    fn withdraw_then_refuse(&mut self, amount: u64) -> Result<(), AccountError> {
        self.events.push(AccountEvent::Withdrawn { amount });
        Err(AccountError::Frozen)
    }

    /// A buggy command: records an event and says it did nothing.
    fn freeze_and_deny(&mut self) -> Idempotent<()> {
        self.events.push(AccountEvent::Frozen);
        Idempotent::AlreadyApplied
    }
}

impl TryFromEvents<AccountEvent> for Account {
    fn try_from_events(events: EntityEvents<AccountEvent>) -> Result<Self, EntityHydrationError> {
        let (mut opened, mut balance, mut frozen) = (None, 0, false);
        for event in events.iter_all() {
            match event {
                AccountEvent::Opened { id, owner } => opened = Some((*id, owner.clone())),
                AccountEvent::Deposited { amount, .. } => balance += amount,
                AccountEvent::Withdrawn { amount } => balance -= amount,
                AccountEvent::Frozen => frozen = true,
                AccountEvent::Unfrozen => frozen = false,
                AccountEvent::Annotated { .. } | AccountEvent::Paired { .. } => {}
            }
        }
        let (id, owner) = opened.ok_or_else(|| events.missing_field("owner"))?;
        Ok(Account {
            id,
            owner,
            balance,
            frozen,
            events,
        })
    }
}

struct NewAccount {
    id: AccountId,
    owner: String,
}

impl IntoEvents<AccountEvent> for NewAccount {
    fn into_events(self) -> EntityEvents<AccountEvent> {
        let mut events = EntityEvents::init(self.id, []);
        events.push_with_context(
            AccountEvent::Opened {
                id: self.id,
                owner: self.owner,
            },
            serde_json::json!({ "by": "signup" }),
        );
        events
    }
}

fn opened(id: AccountId) -> AccountEvent {
    AccountEvent::Opened {
        id,
        owner: "ada".into(),
    }
}

fn deposited(reference: &str, amount: u64) -> AccountEvent {
    AccountEvent::Deposited {
        reference: reference.into(),
        amount,
        memo: memo("web", &["thanks"]),
    }
}

fn paired() -> AccountEvent {
    AccountEvent::Paired {
        pairs: HashMap::from([((1, 2), 3)]),
    }
}

/// An account opened with `balance` deposited (reference `r0`).
fn funded(balance: u64) -> es_entity::testing::Given<Account> {
    let id = AccountId::new();
    given::<Account>(id, [opened(id), deposited("r0", balance)])
}

// --- Failure capture -----------------------------------------------------

thread_local! {
    /// Set while `failure` expects a panic, so the hook keeps quiet.
    static EXPECTING: Cell<bool> = const { Cell::new(false) };
    /// Where the last expected panic happened.
    static LOCATION: RefCell<Option<(String, u32)>> = const { RefCell::new(None) };
}

/// Records the location of expected panics; prints the others as usual.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if EXPECTING.with(Cell::get) {
                let at = info.location().map(|l| (l.file().to_owned(), l.line()));
                LOCATION.with(|cell| *cell.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
}

/// The message of the panic `f` must raise, and the line it points at.
#[track_caller]
fn failure(f: impl FnOnce()) -> (String, u32) {
    install_hook();
    EXPECTING.with(|e| e.set(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    EXPECTING.with(|e| e.set(false));
    let payload = match outcome {
        Ok(()) => panic!("expected a failure, the checks passed"),
        Err(payload) => payload,
    };
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .expect("a text panic");
    let (file, line) = LOCATION
        .with(|cell| cell.borrow_mut().take())
        .expect("the hook saw the panic");
    assert_eq!(
        file,
        Location::caller().file(),
        "the failure points into the kit instead of the test: {message}"
    );
    (message, line)
}

/// Every line of `expected` appears in `message`, in order.
#[track_caller]
fn assert_lines(message: &str, expected: &[&str]) {
    let mut rest = message;
    for line in expected {
        match rest.find(line) {
            Some(at) => rest = &rest[at + line.len()..],
            None => panic!("`{line}` missing (or out of order) in:\n{message}"),
        }
    }
}

// --- Given ---------------------------------------------------------------

#[test]
fn given_builds_the_entity_as_a_repository_load_would() {
    let id = AccountId::new();
    let given = given::<Account>(id, [opened(id), deposited("r1", 5), AccountEvent::Frozen]);
    let account = given.entity();
    assert_eq!(account.id, id);
    assert_eq!((account.owner.as_str(), account.balance), ("ada", 5));
    assert!(account.frozen);

    let events = account.events();
    assert_eq!(*events.id(), id);
    assert_eq!(events.len_persisted(), 3);
    assert!(!events.any_new());
    let sequences: Vec<usize> = events.iter_persisted().map(|p| p.sequence).collect();
    assert_eq!(sequences, [1, 2, 3]);
    assert!(events.iter_persisted().all(|p| p.entity_id == id));
    let first = events.entity_first_persisted_at();
    assert!(first.is_some() && first == events.entity_last_modified_at());

    let later = given.and([AccountEvent::Unfrozen, deposited("r2", 2)]);
    assert_eq!(later.entity().events().len_persisted(), 5);
    assert!(!later.entity().frozen);
    assert_eq!(later.entity().balance, 7);
    assert_eq!(later.entity().events().entity_first_persisted_at(), first);
    assert_eq!(later.into_entity().id, id);
}

#[test]
fn given_new_takes_id_and_context_from_the_new_value() {
    let id = AccountId::new();
    let given = given_new::<Account>(NewAccount {
        id,
        owner: "grace".into(),
    });
    let account = given.entity();
    assert_eq!((account.id, account.owner.as_str()), (id, "grace"));
    let first = account.events().iter_persisted().next().unwrap();
    assert_eq!(first.sequence, 1);
    assert_eq!(first.context, Some(serde_json::json!({ "by": "signup" })));

    given
        .and([deposited("r1", 3)])
        .when(|account| account.deposit("r2", 4))
        .then_events([deposited("r2", 4)]);
}

#[test]
fn events_go_through_their_json_like_stored_ones() {
    let id = AccountId::new();
    let (message, _) = failure(|| {
        given::<Account>(
            id,
            [
                opened(id),
                AccountEvent::Annotated {
                    note: "never stored".into(),
                },
            ],
        );
    });
    assert_lines(
        &message,
        &[
            "the given history does not hydrate into `testing::Account`: ",
            &format!(
                "cannot hydrate entity {id} at event 2: event does not decode: missing field `note`"
            ),
            "history:",
            "  [0] (sequence 1) {\"type\":\"opened\",\"id\":",
            "  [1] (sequence 2) {\"type\":\"annotated\"}",
        ],
    );
}

#[test]
fn a_history_that_does_not_hydrate_fails_with_the_error() {
    let id = AccountId::new();
    let (message, _) = failure(|| {
        given::<Account>(id, [deposited("r1", 1)]);
    });
    assert_lines(
        &message,
        &[
            &format!("cannot hydrate entity {id}: no event sets `owner`"),
            "  [0] (sequence 1) {\"type\":\"deposited\",\"reference\":\"r1\"",
        ],
    );

    let (message, _) = failure(|| {
        given::<Account>(id, []);
    });
    assert_lines(
        &message,
        &["cannot hydrate entity: no events found", "history: none"],
    );

    let err = try_given::<Account>(id, [AccountEvent::Frozen])
        .err()
        .unwrap();
    assert!(matches!(
        err.failure(),
        HydrationFailure::MissingField("owner")
    ));
    assert_eq!(err.entity_id(), Some(id.to_string().as_str()));
    assert!(try_given::<Account>(id, [opened(id)]).is_ok());
}

// --- Passing checks ------------------------------------------------------

#[test]
fn then_events_passes_on_the_same_events() {
    let then = funded(10)
        .when(|account| account.deposit("r1", 5))
        .then_events([deposited("r1", 5)]);
    assert_eq!(*then.result(), Idempotent::Executed(15));
    assert_eq!(then.entity().balance, 15);
    assert_eq!(then.new_events().len(), 1);
    let (account, result) = then.into_parts();
    assert_eq!((account.balance, result.unwrap()), (15, 15));

    // Several commands in one `when` are one unit of work.
    funded(10)
        .when(|account| {
            let _ = account.deposit("r1", 1);
            let _ = account.deposit("r1", 1);
            account.withdraw(3)
        })
        .then_ok()
        .then_events([deposited("r1", 1), AccountEvent::Withdrawn { amount: 3 }]);
}

#[test]
fn idempotent_commands_show_as_no_new_events() {
    // Already applied, whether the command returns `Idempotent` or a `Result` of one.
    funded(10)
        .when(|account| account.deposit("r0", 10))
        .then_already_applied()
        .then_no_new_events();
    funded(10)
        .and([AccountEvent::Frozen])
        .when(|account| account.freeze())
        .then_already_applied();
    funded(10)
        .when(|account| account.unfreeze())
        .then_already_applied();
    // A command returning `()` with nothing to do.
    funded(10)
        .when(|account| account.look())
        .then_no_new_events();
    // `resets_on`: after an unfreeze, freezing runs again.
    funded(10)
        .and([AccountEvent::Frozen, AccountEvent::Unfrozen])
        .when(|account| account.freeze())
        .then_ok()
        .then_events([AccountEvent::Frozen]);
}

#[test]
fn then_error_returns_the_error() {
    let err = funded(10).when(|account| account.withdraw(11)).then_error();
    assert_eq!(err, AccountError::Insufficient { balance: 10 });
    let err = funded(10)
        .and([AccountEvent::Frozen])
        .when(|account| account.withdraw(1))
        .then_error();
    assert_eq!(err, AccountError::Frozen);
    let err = given::<Account>(AccountId::new(), [opened(AccountId::new())])
        .when(|account| account.freeze())
        .then_error();
    assert_eq!(err, AccountError::Insufficient { balance: 0 });
}

// --- Failing checks: messages and locations -----------------------------

#[test]
fn then_events_names_the_first_difference() {
    let (message, line) = failure(|| {
        funded(10)
            .when(|account| account.deposit("r1", 5))
            .then_events([AccountEvent::Deposited {
                reference: "r1".into(),
                amount: 6,
                memo: memo("branch", &["thanks", "again"]),
            }]);
    });
    assert_eq!(line, line!() - 6, "points at `.then_events`: {message}");
    assert_lines(
        &message,
        &[
            "new events differ from the expected ones at index 0 (sequence 3):",
            "  expected: {\"type\":\"deposited\",\"reference\":\"r1\",\"amount\":6,\
             \"memo\":{\"channel\":\"branch\",\"lines\":[\"thanks\",\"again\"]}}",
            "  actual:   {\"type\":\"deposited\",\"reference\":\"r1\",\"amount\":5,\
             \"memo\":{\"channel\":\"web\",\"lines\":[\"thanks\"]}}",
            "  .amount: expected 6, actual 5",
            "  .memo.channel: expected \"branch\", actual \"web\"",
            "  .memo.lines[1]: expected \"again\", actual (missing)",
            "expected 1 new event:",
            "  [0] (sequence 3) {\"type\":\"deposited\",\"reference\":\"r1\",\"amount\":6",
            "recorded 1 new event:",
            "  [0] (sequence 3) {\"type\":\"deposited\",\"reference\":\"r1\",\"amount\":5",
        ],
    );
}

#[test]
fn then_events_names_a_missing_or_extra_event() {
    let (message, _) = failure(|| {
        funded(10)
            .when(|account| account.withdraw(1))
            .then_events([AccountEvent::Withdrawn { amount: 1 }, AccountEvent::Frozen]);
    });
    assert_lines(
        &message,
        &[
            "at index 1 (sequence 4):",
            "  expected: {\"type\":\"frozen\"}",
            "  actual:   (no event)",
            "expected 2 new events:",
            "  [1] (sequence 4) {\"type\":\"frozen\"}",
            "recorded 1 new event:",
            "  [0] (sequence 3) {\"type\":\"withdrawn\",\"amount\":1}",
        ],
    );
    assert!(!message.contains(".amount"), "{message}");

    let (message, _) = failure(|| {
        funded(10)
            .when(|account| account.withdraw(1))
            .then_events([]);
    });
    assert_lines(
        &message,
        &[
            "at index 0 (sequence 3):",
            "  expected: (no event)",
            "  actual:   {\"type\":\"withdrawn\",\"amount\":1}",
            "expected no new events",
            "recorded 1 new event:",
        ],
    );

    let (message, _) = failure(|| {
        funded(10)
            .when(|account| account.withdraw(1))
            .then_events([AccountEvent::Frozen]);
    });
    assert_lines(
        &message,
        &[
            "at index 0 (sequence 3):",
            "  event_type: expected `frozen`, actual `withdrawn`",
            "  .amount: expected (missing), actual 1",
            "  .type: expected \"frozen\", actual \"withdrawn\"",
        ],
    );
}

#[test]
fn then_no_new_events_lists_what_was_recorded() {
    let (message, line) = failure(|| {
        funded(10)
            .when(|account| account.deposit("r1", 5))
            .then_no_new_events();
    });
    assert_eq!(line, line!() - 2, "{message}");
    assert_lines(
        &message,
        &[
            "expected no new events, the command recorded 1 new event:",
            "  [0] (sequence 3) {\"type\":\"deposited\",\"reference\":\"r1\",\"amount\":5",
        ],
    );
}

#[test]
fn then_already_applied_says_what_happened_instead() {
    let (message, line) = failure(|| {
        funded(10)
            .when(|account| account.deposit("r1", 5))
            .then_already_applied();
    });
    assert_eq!(line, line!() - 2, "{message}");
    assert_lines(
        &message,
        &[
            "expected the command to return `AlreadyApplied`, it returned `Executed` \
             and recorded 1 new event:",
            "  [0] (sequence 3) {\"type\":\"deposited\"",
        ],
    );

    let (message, _) = failure(|| {
        given::<Account>(AccountId::new(), [opened(AccountId::new())])
            .when(|account| account.freeze())
            .then_already_applied();
    });
    assert_lines(
        &message,
        &[
            "expected the command to return `Ok(AlreadyApplied)`, it failed with \
           Insufficient { balance: 0 } and recorded no new events",
        ],
    );

    let (message, _) = failure(|| {
        funded(10)
            .when(|account| account.freeze_and_deny())
            .then_already_applied();
    });
    assert_lines(
        &message,
        &[
            "the command returned `AlreadyApplied` but recorded 1 new event:",
            "  [0] (sequence 3) {\"type\":\"frozen\"}",
        ],
    );
}

#[test]
fn then_error_fails_on_success_or_on_recorded_events() {
    let (message, line) = failure(|| {
        funded(10).when(|account| account.withdraw(1)).then_error();
    });
    assert_eq!(line, line!() - 2, "{message}");
    assert_lines(
        &message,
        &[
            "expected the command to fail, it succeeded and recorded 1 new event:",
            "  [0] (sequence 3) {\"type\":\"withdrawn\",\"amount\":1}",
        ],
    );

    let (message, _) = failure(|| {
        funded(10)
            .when(|account| account.withdraw_then_refuse(1))
            .then_error();
    });
    assert_lines(
        &message,
        &[
            "the command failed with Frozen but recorded 1 new event \
             (a command that fails should leave the entity unchanged):",
            "  [0] (sequence 3) {\"type\":\"withdrawn\",\"amount\":1}",
        ],
    );
}

#[test]
fn then_ok_shows_the_error() {
    let (message, line) = failure(|| {
        funded(10).when(|account| account.withdraw(11)).then_ok();
    });
    assert_eq!(line, line!() - 2, "{message}");
    assert_eq!(
        message,
        "expected the command to succeed, it failed with Insufficient { balance: 10 }"
    );
}

#[test]
fn a_failing_given_points_at_the_test() {
    let id = AccountId::new();
    let (message, line) = failure(|| {
        given::<Account>(id, [AccountEvent::Frozen]);
    });
    assert_eq!(line, line!() - 2, "{message}");
    let (message, line) = failure(|| {
        funded(1).and([AccountEvent::Annotated { note: "x".into() }]);
    });
    assert_eq!(line, line!() - 2, "{message}");
}

#[test]
fn an_event_that_does_not_serialize_fails_at_the_test() {
    let unstorable = "a `paired` event does not serialize to JSON, so no repository could \
                      store it: key must be a string";
    let (message, line) = failure(|| {
        funded(1).and([paired()]);
    });
    assert_eq!((message.as_str(), line), (unstorable, line!() - 2));
    let (message, line) = failure(|| {
        funded(1)
            .when(|account| account.look())
            .then_events([paired()]);
    });
    assert_eq!((message.as_str(), line), (unstorable, line!() - 2));
    let (message, line) = failure(|| {
        funded(1)
            .when(|account| account.pair())
            .then_no_new_events();
    });
    assert_eq!((message.as_str(), line), (unstorable, line!() - 2));
}
