//! The size limit of the message that carries a statement's parameters,
//! and the check bulk writes run against it before sending anything
//! ([`BatchTooLarge`]); and the server's own limits on what a write holds,
//! which it reports with SQLSTATE class 54 ([`ServerLimitExceeded`]).
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

/// A write PostgreSQL refused with an error of SQLSTATE class 54, "program
/// limit exceeded": a value in it, or the statement, is past one of the
/// server's implementation limits. The statement failed as a whole, so
/// nothing of the write was stored, and the connection stays usable; a
/// retry fails the same way: split the batch or shrink the value.
///
/// Limits a repository write can reach, all 54000 (`program_limit_exceeded`)
/// in PostgreSQL 15: a string in an event of 256 MiB or more (jsonb holds
/// strings of at most 268,435,455 bytes), an event's jsonb of that size as
/// a whole, an indexed column's value too large for its index entry (a
/// btree's holds about 2.7 kB after compression). It is decided on the
/// SQLSTATE alone, the whole class (`54000`, `54001` `statement_too_complex`,
/// `54011` `too_many_columns`, `54023` `too_many_arguments`), never on the
/// message, which `lc_messages` translates; the message is only shown.
///
/// The repositories' writes report it as `CreateError::ServerLimitExceeded`,
/// `ModifyError::ServerLimitExceeded` and
/// `UncheckedModifyError::ServerLimitExceeded` (`tests/it/server_limit.rs`
/// causes it on the real server). Unlike [`BatchTooLarge`], the batch was
/// sent: the server refused it.
///
/// ```
/// # use std::borrow::Cow;
/// # #[derive(Debug)]
/// # struct Refused(&'static str, &'static str);
/// # impl std::fmt::Display for Refused {
/// #     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.1) }
/// # }
/// # impl std::error::Error for Refused {}
/// # impl sqlx::error::DatabaseError for Refused {
/// #     fn message(&self) -> &str { self.1 }
/// #     fn code(&self) -> Option<Cow<'_, str>> { Some(self.0.into()) }
/// #     fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) { self }
/// #     fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) { self }
/// #     fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> { self }
/// #     fn kind(&self) -> sqlx::error::ErrorKind { sqlx::error::ErrorKind::Other }
/// # }
/// use es_entity::ServerLimitExceeded;
///
/// // A database error as sqlx returns it: SQLSTATE and (translated) message.
/// let refused = |code, message| sqlx::Error::Database(Box::new(Refused(code, message)));
///
/// let err = refused("54000", "string too long to represent as jsonb string");
/// let limit = ServerLimitExceeded::from_sqlx(err).unwrap();
/// assert_eq!(limit.sqlstate, "54000");
/// assert_eq!(limit.condition(), "program_limit_exceeded");
/// assert_eq!(
///     limit.to_string(),
///     "PostgreSQL refused the write with SQLSTATE 54000 (program_limit_exceeded): \
///      string too long to represent as jsonb string; nothing of it was stored: \
///      split the batch or shrink the value"
/// );
/// // The SQLSTATE decides, not the text: a unique violation stays sqlx's.
/// let other = refused("23505", "string too long");
/// assert!(ServerLimitExceeded::from_sqlx(other).is_err());
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct ServerLimitExceeded {
    /// The SQLSTATE the server sent: `54000` (`program_limit_exceeded`) or
    /// another code of class 54.
    pub sqlstate: String,
    /// The server's error, with its (translated) message and fields.
    pub source: sqlx::Error,
}

impl ServerLimitExceeded {
    /// `err` as a [`ServerLimitExceeded`] when it is a database error of
    /// SQLSTATE class 54; `err` itself otherwise.
    pub fn from_sqlx(err: sqlx::Error) -> Result<Self, sqlx::Error> {
        let sqlstate = match err.as_database_error().and_then(|db| db.code()) {
            Some(code) if code.len() == 5 && code.starts_with("54") => code.into_owned(),
            _ => return Err(err),
        };
        Ok(Self {
            sqlstate,
            source: err,
        })
    }

    /// PostgreSQL's name for [`Self::sqlstate`] (`program_limit_exceeded`
    /// for 54000), or `program_limit_exceeded` for a code of the class it
    /// does not define.
    pub fn condition(&self) -> &'static str {
        match self.sqlstate.as_str() {
            "54001" => "statement_too_complex",
            "54011" => "too_many_columns",
            "54023" => "too_many_arguments",
            _ => "program_limit_exceeded",
        }
    }
}

impl fmt::Display for ServerLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PostgreSQL refused the write with SQLSTATE {} ({})",
            self.sqlstate,
            self.condition()
        )?;
        // Shown, never decided on.
        if let Some(db) = self.source.as_database_error() {
            write!(f, ": {}", db.message())?;
        }
        f.write_str("; nothing of it was stored: split the batch or shrink the value")
    }
}

impl std::error::Error for ServerLimitExceeded {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
