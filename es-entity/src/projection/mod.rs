//! Checkpointed projections: read models that follow the [feed](crate::FeedBatch)
//! in its global order, each event applied exactly once.
//!
//! Implement [`Projection`] (a name, what it follows, a handler) and start a
//! [`ProjectionRunner`]. The runner reads the feed after the projection's
//! stored checkpoint in batches; each batch, the handler's writes and the
//! new checkpoint commit in one transaction, so a crash never applies an
//! event twice and never skips one. Once caught up it waits for a
//! notification from a writer (`LISTEN es_feed`) or for its polling interval.
//! One runner per projection name is active at a time across processes (a
//! PostgreSQL advisory lock held by the connection that commits the
//! batches); others wait and take over when it stops or dies.
//!
//! The checkpoints live in the `es_projections` table and writers notify
//! through a trigger; the book's Projections chapter gives both migrations.
//!
//! ```no_run
//! use es_entity::projection::{Projection, ProjectionRunner};
//! use es_entity::{AtomicOperation, FeedEvent, FeedSource};
//! # use es_entity::{FeedBatch, FeedCheckpoint, FeedReadError};
//! # struct Accounts;
//! # #[derive(Clone, Debug, PartialEq, Eq, Hash)] struct AccountId;
//! # impl std::fmt::Display for AccountId { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("a") } }
//! # enum AccountEvent { Deposited { amount: i64 } }
//! # impl FeedSource for Accounts {
//! #     type Item = FeedEvent<AccountId, AccountEvent>;
//! #     const EVENTS_TABLE: &'static str = "account_events";
//! #     async fn read_feed(_: &mut sqlx::PgConnection, _: Option<FeedCheckpoint>, _: usize)
//! #         -> Result<FeedBatch<Self::Item>, FeedReadError> { unimplemented!() }
//! # }
//! struct Deposits;
//!
//! impl Projection for Deposits {
//!     type Follows = Accounts; // a repository with `#[es_repo(feed)]`
//!     type Item = FeedEvent<AccountId, AccountEvent>;
//!     type Error = sqlx::Error;
//!
//!     fn name(&self) -> &str {
//!         "deposits"
//!     }
//!
//!     async fn handle(
//!         &self,
//!         op: &mut impl AtomicOperation,
//!         item: &Self::Item,
//!     ) -> Result<(), sqlx::Error> {
//!         let AccountEvent::Deposited { amount } = &item.event;
//!         sqlx::query("UPDATE totals SET amount = amount + $1")
//!             .bind(amount)
//!             .execute(op.as_executor())
//!             .await?;
//!         Ok(())
//!     }
//! }
//!
//! # async fn run(pool: sqlx::PgPool) {
//! let handle = ProjectionRunner::new(pool, Deposits).spawn();
//! // ... later
//! handle.stop().await.unwrap();
//! # }
//! ```

mod error;
mod runner;
mod store;
mod wake;

use std::future::Future;

use crate::feed::FeedItem;
use crate::feed_source::FeedSources;
use crate::operation::AtomicOperation;

pub use error::{ProjectionError, WaitError, is_transient_error};
pub use runner::{ProjectionHandle, ProjectionRunner, StartFrom};
pub use store::{ProjectionStatus, rebuild, status, wait_for};

/// A read model fed by the event feed. See the [module docs](self).
pub trait Projection: Send + Sync + 'static {
    /// What it follows: a repository marked `#[es_repo(feed)]`, or a tuple
    /// of them read in one order.
    type Follows: FeedSources<Self::Item>;

    /// What the handler receives: the repository's `FeedEvent`, or an enum
    /// over several with a `From` for each.
    type Item: FeedItem + Send + Sync + 'static;

    /// The handler's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The stable name its checkpoint is stored under. Renaming a
    /// projection starts it over.
    fn name(&self) -> &str;

    /// Applies one event. Its writes go into `op`, the transaction that also
    /// stores the checkpoint: they commit together or not at all.
    fn handle(
        &self,
        op: &mut impl AtomicOperation,
        item: &Self::Item,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Clears the read model before a [`rebuild`], in the transaction that
    /// resets the checkpoint. Does nothing by default.
    fn reset(
        &self,
        op: &mut impl AtomicOperation,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let _ = op;
        async { Ok(()) }
    }

    /// Whether an error of the handler is worth retrying (the batch is rolled
    /// back and read again after a backoff). By default: when a
    /// `sqlx::Error` in its source chain is a lost connection, a
    /// serialization failure or a deadlock. Any other error stops the
    /// runner.
    fn is_transient(&self, err: &Self::Error) -> bool {
        is_transient_error(err)
    }
}
