//! Every conflict the retry loop sees is a `tracing` warning (target
//! `es_entity::retry`) carrying the entity type, its id, the expected
//! sequence and the attempt number, so operators see contention.
//!
//! A small subscriber records the events of that target. It is installed
//! with `set_default` (thread-local) and the tests run on a current-thread
//! runtime, so it sees only this test's events.
//!
//! One trap: `tracing` registers a callsite (and caches its interest) the
//! first time it is hit with its level enabled. While a single scoped
//! subscriber exists, that registration asks only the hitting thread's
//! subscriber: a retry on another test's thread (no subscriber) would cache
//! "never" and silence the callsite here too. [`install`] therefore hits the
//! retry callsites under a first recorder, then installs the recorder
//! again: creating a dispatcher recomputes every registered callsite's
//! interest, and later recomputations always include the live recorder.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use es_entity::*;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

use crate::book_retry::{Accounts, NewAccount};

const TARGET: &str = "es_entity::retry";

#[derive(Debug, Clone)]
struct Captured {
    level: Level,
    target: String,
    fields: BTreeMap<String, String>,
}

/// Records the events of [`TARGET`] with their fields as text.
#[derive(Clone, Default)]
struct RetryEvents {
    seen: Arc<Mutex<Vec<Captured>>>,
}

impl RetryEvents {
    fn take(&self) -> Vec<Captured> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        // `%display` fields and the message arrive here, unquoted.
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl Subscriber for RetryEvents {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // Ask every time: threads without this subscriber must stay silent.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == TARGET
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.seen.lock().unwrap().push(Captured {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            fields,
        });
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// A conflict and a transient error, each retried once, so both warning
/// callsites of the retry loop are registered.
async fn hit_retry_callsites() {
    #[derive(Debug)]
    struct Once(bool);
    impl RetryableError for Once {
        fn concurrent_modification(&self) -> Option<Conflict> {
            self.0.then(|| Conflict {
                entity: "Warm-up",
                entity_id: String::new(),
                expected_sequence: 0,
                expected_version: 0,
                actual_version: None,
            })
        }
        fn is_transient(&self) -> bool {
            true
        }
    }
    let policy = RetryPolicy::new(1).retry_transient(true);
    for conflict in [true, false] {
        let _ =
            retry_on_concurrent_modification(&policy, || async { Err::<(), _>(Once(conflict)) })
                .await;
    }
}

/// Installs a fresh recorder on this thread (see the module docs).
async fn install() -> (RetryEvents, tracing::subscriber::DefaultGuard) {
    let events = RetryEvents::default();
    let warm_up = tracing::subscriber::set_default(events.clone());
    hit_retry_callsites().await;
    drop(warm_up);
    let guard = tracing::subscriber::set_default(events.clone());
    events.take();
    (events, guard)
}

#[tokio::test]
async fn a_conflict_is_a_warning_naming_entity_id_sequence_and_attempt() {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let account = accounts.create(NewAccount::named("traced")).await.unwrap();
    let id = account.id;
    let (events, _guard) = install().await;

    let policy = RetryPolicy::new(3).base_delay(Duration::ZERO);
    let runs = AtomicU32::new(0);
    let done = retry_on_concurrent_modification(&policy, || async {
        let mut mine = accounts.find_by_id(id).await.expect("loads");
        if runs.fetch_add(1, Ordering::Relaxed) == 0 {
            // Another writer gets in between our load and our save, once.
            let mut theirs = accounts.find_by_id(id).await.expect("loads");
            theirs.deposit(1);
            accounts.update(&mut theirs).await?;
        }
        mine.deposit(10);
        accounts.update(&mut mine).await
    })
    .await
    .expect("the second attempt lands");
    assert_eq!(done.attempts, 2);

    let seen = events.take();
    assert_eq!(seen.len(), 1, "one warning per conflict: {seen:#?}");
    let warning = &seen[0];
    assert_eq!(warning.level, Level::WARN);
    assert_eq!(warning.target, TARGET);
    let field = |name: &str| warning.fields.get(name).map(String::as_str);
    assert_eq!(field("message"), Some("concurrent modification"));
    assert_eq!(field("entity"), Some("Account"));
    let id_text = id.to_string();
    assert_eq!(field("entity_id"), Some(id_text.as_str()));
    assert_eq!(
        field("expected_sequence"),
        Some("2"),
        "Opened is 1, theirs took 2"
    );
    assert_eq!(field("expected_version"), Some("1"));
    assert_eq!(
        field("actual_version"),
        Some("2"),
        "read on the pool after the failure"
    );
    assert_eq!(field("gap"), Some("1"));
    assert_eq!(field("attempt"), Some("1"));
    assert_eq!(field("max_attempts"), Some("3"));

    // No conflict, no warning.
    let quiet = retry_on_concurrent_modification(&policy, || async {
        let mut mine = accounts.find_by_id(id).await.expect("loads");
        mine.deposit(1);
        accounts.update(&mut mine).await
    })
    .await
    .unwrap();
    assert_eq!(quiet.attempts, 1);
    assert!(events.take().is_empty());
}

/// Each conflict warns with its attempt number, the last one (which
/// exhausts the policy and is returned) too.
#[tokio::test]
async fn every_conflict_warns_up_to_the_last_attempt() {
    #[derive(Debug)]
    struct Lost;
    impl RetryableError for Lost {
        fn concurrent_modification(&self) -> Option<Conflict> {
            Some(Conflict {
                entity: "Account",
                entity_id: "a-1".into(),
                expected_sequence: 7,
                expected_version: 6,
                actual_version: Some(9),
            })
        }
    }
    let (events, _guard) = install().await;
    let policy = RetryPolicy::new(3).base_delay(Duration::ZERO);
    let result: Result<Retried<()>, Lost> =
        retry_on_concurrent_modification(&policy, || async { Err(Lost) }).await;
    assert!(result.is_err());
    let attempts: Vec<_> = events
        .take()
        .iter()
        .map(|w| {
            assert_eq!(w.fields.get("entity_id").map(String::as_str), Some("a-1"));
            assert_eq!(
                w.fields.get("expected_sequence").map(String::as_str),
                Some("7")
            );
            assert_eq!(
                w.fields.get("expected_version").map(String::as_str),
                Some("6")
            );
            assert_eq!(
                w.fields.get("actual_version").map(String::as_str),
                Some("9")
            );
            assert_eq!(w.fields.get("gap").map(String::as_str), Some("3"));
            w.fields["attempt"].clone()
        })
        .collect();
    assert_eq!(attempts, ["1", "2", "3"]);
}

/// Transient errors are retried only when the policy opts in, and each retry
/// is a warning with the attempt number.
#[tokio::test]
async fn transient_errors_warn_only_when_retried() {
    #[derive(Debug)]
    struct Dropped;
    impl RetryableError for Dropped {
        fn concurrent_modification(&self) -> Option<Conflict> {
            None
        }
        fn is_transient(&self) -> bool {
            true
        }
    }
    let (events, _guard) = install().await;
    let runs = AtomicU32::new(0);
    let flaky = || async {
        if runs.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
            Err(Dropped)
        } else {
            Ok(())
        }
    };

    let default = RetryPolicy::new(3).base_delay(Duration::ZERO);
    assert!(
        retry_on_concurrent_modification(&default, flaky)
            .await
            .is_err()
    );
    assert!(events.take().is_empty(), "not retried, not reported");

    runs.store(0, Ordering::Relaxed);
    let opted_in = default.retry_transient(true);
    let done = retry_on_concurrent_modification(&opted_in, flaky)
        .await
        .unwrap();
    assert_eq!(done.attempts, 2);
    let seen = events.take();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].level, Level::WARN);
    assert_eq!(seen[0].fields.get("attempt").map(String::as_str), Some("1"));
}
