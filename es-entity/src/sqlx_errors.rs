//! What a `sqlx::Error` says about the call that failed: whether trying
//! again may succeed ([`is_transient_sqlx`]) and whether the connection was
//! lost, leaving a statement's outcome unknown ([`is_connection_lost`]).

/// Whether a database error is transient: the same call may succeed later.
///
/// A lost connection counts, which is right for a statement inside a
/// transaction (the server rolls the transaction back) and for one that was
/// never sent. A repository write outside a transaction whose connection is
/// lost is not `Sqlx` but `OutcomeUnknown`, which is never transient; so is,
/// for your own code, a `COMMIT` that fails with
/// [`is_connection_lost`](crate::is_connection_lost).
pub fn is_transient_sqlx(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // serialization_failure, deadlock_detected, admin shutdown, connection exceptions
            matches!(code.as_ref(), "40001" | "40P01" | "57P01") || code.starts_with("08")
        }),
        _ => false,
    }
}

/// Whether the connection failed while a statement was out, so that the
/// client cannot tell whether the server ran it: an I/O error (the
/// connection closed or reset), a connection exception (SQLSTATE class 08),
/// or the server ending the session (57P01 admin shutdown, 57P02 crash
/// shutdown, 57P03 cannot connect now).
///
/// Repository writes outside a transaction report this as
/// `OutcomeUnknown`. A `COMMIT` that fails this way leaves the same doubt:
/// the transaction may have committed.
///
/// ```
/// let lost = sqlx::Error::Io(std::io::ErrorKind::UnexpectedEof.into());
/// assert!(es_entity::is_connection_lost(&lost));
/// assert!(!es_entity::is_connection_lost(&sqlx::Error::PoolTimedOut));
/// ```
pub fn is_connection_lost(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}
