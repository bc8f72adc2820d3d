//! Waking a caught-up runner: a notification from a writer on channel
//! `es_feed`, its polling interval, or a stop request.
//!
//! Writers notify through a statement-level trigger on each events table
//! (`es_feed_notify()`, in the book's migration): the payload is the table
//! name and the writing transaction's id, delivered when it commits, no
//! extra round trip for the writer. A notified transaction may still be
//! below the feed's horizon when the runner reads (an older transaction is
//! still running): the runner then re-reads soon, with a growing pause,
//! instead of waiting out its polling interval.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::watch;

/// The channel writers notify on.
pub(super) const CHANNEL: &str = "es_feed";

/// Why a wait ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Woken {
    /// A notification, or the pause ran out.
    Go,
    /// Stop was requested.
    Stop,
}

pub(super) struct Wake {
    listener: Option<PgListener>,
    tables: Vec<&'static str>,
    /// The newest transaction a notification named that the runner has not
    /// seen below its horizon yet.
    pending: Option<i64>,
    /// The pause while a notified transaction is not yet visible.
    soon: Duration,
}

const SOON_FIRST: Duration = Duration::from_millis(5);
const SOON_MAX: Duration = Duration::from_millis(500);

impl Wake {
    /// Listens on its own connection when `listen`; a failure to listen is
    /// logged and leaves polling only.
    pub(super) async fn new(
        options: &PgConnectOptions,
        listen: bool,
        tables: Vec<&'static str>,
    ) -> Self {
        let listener = if listen {
            match connect(options).await {
                Ok(l) => Some(l),
                Err(e) => {
                    tracing::warn!(error = %e, "es_entity projection: cannot LISTEN, polling only");
                    None
                }
            }
        } else {
            None
        };
        Self {
            listener,
            tables,
            pending: None,
            soon: SOON_FIRST,
        }
    }

    /// Called after a read that saw everything below `horizon`: forgets the
    /// notified transactions it covers.
    pub(super) fn caught_up_to(&mut self, horizon: i64) {
        if self.pending.is_some_and(|tx| tx < horizon) {
            self.pending = None;
            self.soon = SOON_FIRST;
        }
    }

    /// Waits for a notification naming one of the tables, `poll` (or a short
    /// pause while a notified transaction is not visible yet), or a stop.
    pub(super) async fn wait(&mut self, poll: Duration, stop: &mut watch::Receiver<bool>) -> Woken {
        let pause = if self.pending.is_some() {
            let pause = self.soon.min(poll);
            self.soon = (self.soon * 2).min(SOON_MAX);
            pause
        } else {
            poll
        };
        let deadline = tokio::time::Instant::now() + pause;
        loop {
            if *stop.borrow() {
                return Woken::Stop;
            }
            let listener = &mut self.listener;
            let notified = async {
                match listener.as_mut() {
                    Some(l) => l.recv().await,
                    None => std::future::pending().await,
                }
            };
            let payload = tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return Woken::Go,
                _ = stop.changed() => return Woken::Stop,
                n = notified => n.map(|n| n.payload().to_owned()),
            };
            match payload {
                Ok(payload) => {
                    if let Some(tx) = matches(&self.tables, &payload) {
                        self.pending = Some(self.pending.map_or(tx, |p| p.max(tx)));
                        self.soon = SOON_FIRST;
                        return Woken::Go;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "es_entity projection: LISTEN failed, polling only");
                    self.listener = None;
                }
            }
        }
    }
}

/// The transaction id of a payload `"<table> <xid8>"` naming one of
/// `tables`.
fn matches(tables: &[&'static str], payload: &str) -> Option<i64> {
    let (table, tx) = payload.split_once(' ')?;
    if !tables.contains(&table) {
        return None;
    }
    tx.parse().ok()
}

/// A listener on a pool of one connection of its own (not one of the
/// caller's pool), reconnecting by itself.
async fn connect(options: &PgConnectOptions) -> Result<PgListener, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_with(options.clone())
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.ignore_pool_close_event(true);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
