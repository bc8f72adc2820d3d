//! The errors of a projection runner and of waiting for one.

use std::time::Duration;

use crate::feed::{FeedCheckpoint, FeedOrigin};
use crate::feed_source::FeedReadError;

/// Why a projection stopped. The checkpoint never moves past the event that
/// failed: restarting the runner reads it again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectionError<E: std::error::Error + 'static> {
    /// The handler failed on an event with an error that is not transient.
    #[error("projection `{projection}`: the handler failed at {checkpoint}{}: {source}", origin_text(.origin))]
    Handler {
        /// The projection's name.
        projection: String,
        /// Where the event sits in the feed.
        checkpoint: FeedCheckpoint,
        /// The entity and sequence, when the item tells them
        /// ([`FeedItem::origin`](crate::FeedItem::origin)).
        origin: Option<FeedOrigin>,
        /// The handler's error.
        #[source]
        source: E,
    },
    /// [`Projection::reset`](super::Projection::reset) failed; the
    /// checkpoint is unchanged.
    #[error("projection `{projection}`: the reset failed: {source}")]
    Reset {
        /// The projection's name.
        projection: String,
        /// The reset's error.
        #[source]
        source: E,
    },
    /// The feed could not be read, e.g. an event does not decode; the
    /// error names its entity, sequence and feed position.
    #[error("projection `{projection}`: after {}: {source}", after_text(.after))]
    Feed {
        /// The projection's name.
        projection: String,
        /// The checkpoint the read started after (`None`: the start).
        after: Option<FeedCheckpoint>,
        /// Why.
        #[source]
        source: FeedReadError,
    },
    /// The database failed with an error that is not transient.
    #[error("projection `{projection}`: {source}")]
    Database {
        /// The projection's name.
        projection: String,
        /// The error.
        #[source]
        source: sqlx::Error,
    },
    /// A commit hook the handler added failed before `COMMIT`; the batch
    /// was rolled back.
    #[error("projection `{projection}`: {source}")]
    Commit {
        /// The projection's name.
        projection: String,
        /// The error.
        #[source]
        source: crate::operation::CommitError,
    },
    /// The runner's task ended without a result (it panicked or was
    /// cancelled).
    #[error("projection `{projection}`: the runner's task failed: {reason}")]
    Task {
        /// The projection's name.
        projection: String,
        /// What the task's join error said.
        reason: String,
    },
}

fn origin_text(origin: &Option<FeedOrigin>) -> String {
    origin
        .as_ref()
        .map(|o| format!(", {o}"))
        .unwrap_or_default()
}

fn after_text(after: &Option<FeedCheckpoint>) -> String {
    after.map_or_else(|| "the start".to_owned(), |c| c.to_string())
}

impl<E: std::error::Error + 'static> ProjectionError<E> {
    /// The projection's name.
    pub fn projection(&self) -> &str {
        match self {
            Self::Handler { projection, .. }
            | Self::Reset { projection, .. }
            | Self::Feed { projection, .. }
            | Self::Database { projection, .. }
            | Self::Commit { projection, .. }
            | Self::Task { projection, .. } => projection,
        }
    }

    /// The feed position of the event to blame, when one is.
    pub fn position(&self) -> Option<i64> {
        match self {
            Self::Handler { checkpoint, .. } => Some(checkpoint.position),
            Self::Feed {
                source: FeedReadError::Decode(e),
                ..
            } => e.position(),
            _ => None,
        }
    }
}

/// Why waiting for a projection ended without it reaching the checkpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WaitError {
    /// The projection had not processed the checkpoint in time.
    #[error("projection `{projection}` did not reach {target} within {timeout:?} (at {})", after_text(.reached))]
    Timeout {
        /// The projection's name.
        projection: String,
        /// What was waited for.
        target: FeedCheckpoint,
        /// Where the projection was when the wait ended.
        reached: Option<FeedCheckpoint>,
        /// How long was waited.
        timeout: Duration,
    },
    /// The runner stopped (or failed) before reaching the checkpoint.
    #[error("projection `{projection}` stopped before reaching {target}")]
    Stopped {
        /// The projection's name.
        projection: String,
        /// What was waited for.
        target: FeedCheckpoint,
    },
    /// Reading the projection's checkpoint failed.
    #[error("waiting for projection `{projection}`: {source}")]
    Database {
        /// The projection's name.
        projection: String,
        /// The error.
        #[source]
        source: sqlx::Error,
    },
}

/// Whether `err` or an error in its source chain is a transient
/// `sqlx::Error` (a lost connection, a serialization failure, a deadlock;
/// see [`crate::is_transient_sqlx`]) or a transient [`FeedReadError`]: the
/// default of [`Projection::is_transient`](super::Projection::is_transient),
/// for an override to fall back on.
///
/// ```
/// use es_entity::projection::is_transient_error;
/// let lost = sqlx::Error::Io(std::io::Error::other("reset"));
/// assert!(is_transient_error(&lost));
/// assert!(!is_transient_error(&sqlx::Error::RowNotFound));
/// ```
pub fn is_transient_error(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(sqlx) = e.downcast_ref::<sqlx::Error>() {
            return crate::sqlx_errors::is_transient_sqlx(sqlx);
        }
        if let Some(feed) = e.downcast_ref::<FeedReadError>() {
            return feed.is_transient();
        }
        next = e.source();
    }
    false
}
