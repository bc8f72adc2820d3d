//! The size limit of the message that carries a statement's parameters,
//! and the check bulk writes run against it before sending anything.
//!
//! sqlx sends a statement's parameters in one Bind message of the extended
//! query protocol. PostgreSQL reads the message's 4-byte length word first
//! and refuses any Bind (or Parse) message longer than
//! `PQ_LARGE_MESSAGE_LIMIT` = `MaxAllocSize - 1` = 1,073,741,822 bytes
//! (`src/backend/tcop/postgres.c`, `SocketBackend`); it then logs "invalid
//! message length" on the server, sends the client nothing and closes the
//! connection (the suite shows it: `tests/it/bind_limit.rs`). A batch
//! past it must therefore be refused before it is sent.

use std::fmt;

/// A bulk write whose parameters would not fit the one message PostgreSQL
/// accepts for them. Nothing was sent; split the batch into smaller calls
/// (each call is its own atomic write).
///
/// ```
/// use es_entity::BatchTooLarge;
/// // The parameters of 3,000,000 entities' events, encoded: 1.2 GB.
/// let err = BatchTooLarge::check(1_200_000_000, 3_000_000, 3_000_000).unwrap_err();
/// assert_eq!(err.entities, 3_000_000);
/// assert_eq!(err.limit, 1_073_741_822);
/// assert!(err.to_string().contains("3000000 entities"));
/// assert!(BatchTooLarge::check(1_000, 10, 10).is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchTooLarge {
    /// Entities in the batch.
    pub entities: usize,
    /// Events in the batch.
    pub events: usize,
    /// The size of the Bind message the batch needs, in bytes (at most
    /// [`Self::BIND_OVERHEAD`] over the exact figure).
    pub message_bytes: usize,
    /// The largest Bind message PostgreSQL accepts: 1,073,741,822 bytes.
    pub limit: usize,
}

impl BatchTooLarge {
    /// The largest Bind message PostgreSQL accepts, counted as its length
    /// word counts it (the length word itself included, the type byte not):
    /// `MaxAllocSize - 1` = 1,073,741,822.
    pub const MAX_BIND_MESSAGE: usize = 0x3FFF_FFFE;

    /// What a Bind message of sqlx 0.9 holds besides its parameters, at
    /// most: the length word (4), the unnamed portal (1), the statement's
    /// name (`sqlx_s_` and up to 10 digits, with its NUL: 18), one parameter
    /// format code (2 + 2), the parameter count (2) and one result format
    /// code (2 + 2).
    pub const BIND_OVERHEAD: usize = 33;

    /// Whether a statement whose encoded parameters (each with its 4-byte
    /// length, as sqlx lays them out) take `parameter_bytes` fits one Bind
    /// message; `entities` and `events` describe the batch for the error.
    pub fn check(parameter_bytes: usize, entities: usize, events: usize) -> Result<(), Self> {
        let message_bytes = parameter_bytes.saturating_add(Self::BIND_OVERHEAD);
        if message_bytes <= Self::MAX_BIND_MESSAGE {
            return Ok(());
        }
        Err(Self {
            entities,
            events,
            message_bytes,
            limit: Self::MAX_BIND_MESSAGE,
        })
    }
}

impl fmt::Display for BatchTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a batch of {} entities ({} events) needs a {}-byte Bind message, over PostgreSQL's \
             limit of {} bytes; nothing was sent: split the batch",
            self.entities, self.events, self.message_bytes, self.limit
        )
    }
}

impl std::error::Error for BatchTooLarge {}

/// The [`BatchTooLarge`] a bulk write's encoding returned, if `err` is one.
pub(crate) fn batch_too_large(err: &sqlx::Error) -> Option<BatchTooLarge> {
    match err {
        sqlx::Error::Encode(source) => source.downcast_ref::<BatchTooLarge>().cloned(),
        _ => None,
    }
}
