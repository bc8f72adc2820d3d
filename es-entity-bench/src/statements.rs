//! Counts the statements sqlx sends, for the projection workloads' "statements
//! per batch" and the snapshot and nested workloads' statements and rows per
//! operation (figures that do not depend on the machine's mood). The peer's
//! sqlx (0.8) reports its statements the same way.
//!
//! sqlx reports every statement it executes as one tracing event with target
//! `sqlx::query`, at the level a connection's `log_statements` sets (the
//! bench's pools switch it off; the counting pool sets it to `TRACE`). The
//! subscriber below is the process's global one (the projection runner works
//! on a task of its own, on any worker thread) and keeps the first word of
//! each statement while counting is on. `BEGIN` is not among them: sqlx sends
//! it as a simple query, outside its statement log.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

const TARGET: &str = "sqlx::query";

#[derive(Default)]
struct Seen {
    on: AtomicBool,
    /// First word of each statement and the rows it returned.
    statements: Mutex<Vec<(String, u64)>>,
}

static SEEN: OnceLock<Arc<Seen>> = OnceLock::new();

struct Counter(Arc<Seen>);

/// Installs the counting subscriber as the global default; `false` when
/// another global subscriber was there first (then nothing is counted).
pub fn install() -> bool {
    let seen = SEEN.get_or_init(Arc::default).clone();
    tracing::subscriber::set_global_default(Counter(seen)).is_ok()
}

/// Starts keeping statements (forgetting earlier ones).
pub fn start() {
    if let Some(seen) = SEEN.get() {
        seen.statements.lock().expect("not poisoned").clear();
        seen.on.store(true, Ordering::SeqCst);
    }
}

/// Stops and returns the first word of each statement seen since [`start`],
/// in order.
pub fn stop() -> Vec<String> {
    stop_with_rows().into_iter().map(|(word, _)| word).collect()
}

/// As [`stop`], with the rows each statement returned (sqlx's
/// `rows_returned`).
pub fn stop_with_rows() -> Vec<(String, u64)> {
    match SEEN.get() {
        Some(seen) => {
            seen.on.store(false, Ordering::SeqCst);
            std::mem::take(&mut *seen.statements.lock().expect("not poisoned"))
        }
        None => Vec::new(),
    }
}

#[derive(Default)]
struct Summary {
    summary: String,
    rows: u64,
}

impl Visit for Summary {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "summary" {
            self.summary = value.to_owned();
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "rows_returned" {
            self.rows = value;
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "rows_returned" {
            self.rows = value.max(0) as u64;
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" && self.summary.is_empty() {
            self.summary = format!("{value:?}").trim_matches('"').to_owned();
        }
    }
}

impl Subscriber for Counter {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if metadata.target() == TARGET {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == TARGET && self.0.on.load(Ordering::Relaxed)
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
        if event.metadata().target() != TARGET || !self.0.on.load(Ordering::Relaxed) {
            return;
        }
        let mut summary = Summary::default();
        event.record(&mut summary);
        let word = summary
            .summary
            .split_whitespace()
            .next()
            .unwrap_or("?")
            .to_ascii_uppercase();
        self.0
            .statements
            .lock()
            .expect("not poisoned")
            .push((word, summary.rows));
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// The statements of one transaction as `BEGIN, SELECT x2, INSERT x500,
/// UPDATE, COMMIT` and their number, `BEGIN` included.
pub struct Shape {
    pub text: String,
    pub statements: usize,
}

/// Splits `seen` into transactions at each `COMMIT` and describes the one
/// typical of the batches: the second (the first carries a runner's
/// set-up statements); with how many of the transactions after the first
/// have that shape, and how many there are. `None` with fewer than two.
pub fn batch_shape(seen: &[String]) -> Option<(Shape, usize, usize)> {
    let mut transactions: Vec<&[String]> = Vec::new();
    let mut from = 0;
    for (i, word) in seen.iter().enumerate() {
        if word == "COMMIT" {
            transactions.push(&seen[from..=i]);
            from = i + 1;
        }
    }
    let typical = *transactions.get(1)?;
    let alike = transactions[1..].iter().filter(|t| **t == typical).count();
    let mut parts = vec!["BEGIN".to_owned()];
    let mut i = 0;
    while i < typical.len() {
        let word = &typical[i];
        let run = typical[i..].iter().take_while(|w| *w == word).count();
        parts.push(if run == 1 {
            word.clone()
        } else {
            format!("{word} x{run}")
        });
        i += run;
    }
    Some((
        Shape {
            text: parts.join(", "),
            statements: typical.len() + 1,
        },
        alike,
        transactions.len() - 1,
    ))
}
