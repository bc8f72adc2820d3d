//! Where a [projection](crate::projection) reads its events: one repository
//! marked `#[es_repo(feed)]`, or several read in one order.

use std::future::Future;
use std::pin::Pin;

use sqlx::PgConnection;

use crate::error::EntityHydrationError;
use crate::feed::{FeedBatch, FeedCheckpoint, FeedItem, merge_feeds};

/// Why a feed read failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeedReadError {
    /// The database failed.
    #[error("reading the feed: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored event does not decode; the error names its entity, sequence
    /// and feed position.
    #[error("reading the feed: {0}")]
    Decode(#[from] EntityHydrationError),
}

impl FeedReadError {
    /// Whether trying again may succeed: a lost connection, a serialization
    /// failure or a deadlock (see [`crate::is_transient_sqlx`]).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Database(e) => crate::sqlx_errors::is_transient_sqlx(e),
            Self::Decode(_) => false,
        }
    }
}

/// A repository whose events are in the feed. `#[derive(EsRepo)]` implements
/// it for every repository marked `#[es_repo(feed)]`; name such a
/// repository in [`Projection::Follows`](crate::projection::Projection::Follows).
pub trait FeedSource: Send + Sync + 'static {
    /// One event of this repository's feed (a [`FeedEvent`](crate::FeedEvent)).
    type Item: FeedItem + Send + Sync + 'static;

    /// The events table.
    const EVENTS_TABLE: &'static str;

    /// At most `limit` events after `after`, in feed order, read on `conn`
    /// (the same statement as the generated `feed_after`).
    fn read_feed<'c>(
        conn: &'c mut PgConnection,
        after: Option<FeedCheckpoint>,
        limit: usize,
    ) -> impl Future<Output = Result<FeedBatch<Self::Item>, FeedReadError>> + Send + 'c;
}

/// The boxed future of [`FeedSources::read`].
pub type FeedRead<'c, I> =
    Pin<Box<dyn Future<Output = Result<FeedBatch<I>, FeedReadError>> + Send + 'c>>;

/// What a projection follows: one [`FeedSource`], or a tuple of up to six
/// whose items all convert into the projection's item `I` (an enum over
/// their [`FeedEvent`](crate::FeedEvent)s with a `From` for each).
///
/// A tuple reads each table after the same checkpoint on the same
/// connection and [merges](merge_feeds) them into one order; inside one
/// `REPEATABLE READ` transaction (as the runner reads) the reads share a
/// snapshot.
pub trait FeedSources<I>: 'static {
    /// The events tables read, for matching notifications.
    fn tables() -> Vec<&'static str>;

    /// At most `limit` items after `after`, in feed order.
    fn read(
        conn: &mut PgConnection,
        after: Option<FeedCheckpoint>,
        limit: usize,
    ) -> FeedRead<'_, I>;
}

impl<I, A> FeedSources<I> for A
where
    A: FeedSource,
    A::Item: Into<I>,
    I: FeedItem + Send + 'static,
{
    fn tables() -> Vec<&'static str> {
        vec![A::EVENTS_TABLE]
    }

    fn read(
        conn: &mut PgConnection,
        after: Option<FeedCheckpoint>,
        limit: usize,
    ) -> FeedRead<'_, I> {
        Box::pin(async move { Ok(A::read_feed(conn, after, limit).await?.map(Into::into)) })
    }
}

macro_rules! tuple_sources {
    ($($s:ident),+) => {
        impl<I, $($s),+> FeedSources<I> for ($($s,)+)
        where
            $($s: FeedSource, $s::Item: Into<I>,)+
            I: FeedItem + Send + 'static,
        {
            fn tables() -> Vec<&'static str> {
                vec![$($s::EVENTS_TABLE),+]
            }

            fn read(
                conn: &mut PgConnection,
                after: Option<FeedCheckpoint>,
                limit: usize,
            ) -> FeedRead<'_, I> {
                Box::pin(async move {
                    let batches = [$($s::read_feed(&mut *conn, after, limit).await?.map(Into::into)),+];
                    Ok(merge_feeds(limit, after, batches))
                })
            }
        }
    };
}

tuple_sources!(A, B);
tuple_sources!(A, B, C);
tuple_sources!(A, B, C, D);
tuple_sources!(A, B, C, D, E);
tuple_sources!(A, B, C, D, E, F);
