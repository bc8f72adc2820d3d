//! Test harness shared by the integration tests (`tests/it`) and the examples.
//!
//! [`pool`] hands out a small connection pool to the test database. The first
//! call in a process makes sure that database exists and is migrated, so
//! `cargo test` works against a bare PostgreSQL server with no setup step.
//!
//! The database is `DATABASE_URL`, or [`DEFAULT_DATABASE_URL`] when unset.
//!
//! With [`POOLER_URL_VAR`] (`ES_ENTITY_POOLER_URL`) set, the pools that
//! [`pool`] hands out connect to that URL instead: a connection pooler such
//! as PgBouncer in front of the same database (`.ci/pgbouncer` runs part of
//! the suite that way). Creating and migrating the database still goes to
//! `DATABASE_URL` directly, because `sqlx::migrate!` holds a session-level
//! advisory lock, which a pooler in transaction mode cannot keep.
//!
//! [`proxy`] puts a fault-injecting TCP proxy between a test and that
//! database, to drop a connection after the server has committed a statement.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;

pub mod proxy;

/// The database used when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/es_entity_test";

/// The environment variable naming a connection pooler in front of the test
/// database; see [`connect_options`].
pub const POOLER_URL_VAR: &str = "ES_ENTITY_POOLER_URL";

/// How long to wait for a connection (connecting or from a busy pool).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections per pool. Tests run a few at a time, each with its own pool.
const MAX_CONNECTIONS: u32 = 5;

/// SQLSTATEs that mean another process created the database first.
const CREATED_CONCURRENTLY: [&str; 3] = [
    "42P04", // duplicate_database
    "42P03", // duplicate_cursor: not expected here, harmless to tolerate
    "23505", // unique_violation on pg_database's name index
];

/// `DATABASE_URL`, or [`DEFAULT_DATABASE_URL`] when it is unset or empty.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
}

/// [`POOLER_URL_VAR`], when it is set and not empty.
pub fn pooler_url() -> Option<String> {
    std::env::var(POOLER_URL_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// The connect options of the pools tests use: [`pooler_url`] when it is
/// set, else [`database_url`]. Tests that build a pool of their own (a
/// different size, logging statements) start from these, so that a run
/// through a pooler really goes through it.
pub fn connect_options() -> PgConnectOptions {
    match pooler_url() {
        Some(url) => parse_named(&url, POOLER_URL_VAR),
        None => parse(&database_url()),
    }
}

/// Set once the database exists and is migrated, for the whole process.
///
/// Each `#[tokio::test]` runs on its own runtime and a pool must not outlive
/// the runtime that created it, so only this fact is shared, never a pool.
static PREPARED: OnceCell<()> = OnceCell::const_new();

/// A pool on the test database, which is created and migrated if needed.
///
/// # Panics
/// With one line naming the URL when the server cannot be reached, the URL
/// does not parse, or the migrations fail.
pub async fn pool() -> PgPool {
    pool_with_size(MAX_CONNECTIONS).await
}

/// [`pool`] with up to `connections` connections, for tests that write
/// from many tasks at once.
pub async fn pool_with_size(connections: u32) -> PgPool {
    prepared().await;
    PgPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(connect_options())
        .await
        .unwrap_or_else(|e| match pooler_url() {
            Some(url) => panic!(
                "cannot connect through the pooler at {} ({POOLER_URL_VAR}): {}",
                redact(&url),
                one_line(&e)
            ),
            None => unreachable(&database_url(), &e),
        })
}

/// Makes sure the test database exists and is migrated, once per process.
pub(crate) async fn prepared() {
    let url = database_url();
    let options = parse(&url);
    PREPARED.get_or_init(|| prepare(&url, &options)).await;
}

pub(crate) fn parse(url: &str) -> PgConnectOptions {
    parse_named(url, "DATABASE_URL")
}

fn parse_named(url: &str, var: &str) -> PgConnectOptions {
    url.parse()
        .unwrap_or_else(|e| panic!("{var} `{}` is not a PostgreSQL URL: {e}", redact(url)))
}

/// Creates the target database when missing, then applies `./migrations`.
async fn prepare(url: &str, options: &PgConnectOptions) {
    let mut conn = match connect(options).await {
        Ok(conn) => conn,
        Err(e) if sqlstate(&e).as_deref() == Some("3D000") => {
            // invalid_catalog_name: the server is up, the database is not there.
            create_database(url, options).await;
            connect(options)
                .await
                .unwrap_or_else(|e| unreachable(url, &e))
        }
        Err(e) => unreachable(url, &e),
    };
    sqlx::migrate!("./migrations")
        .run(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("cannot migrate the test database at {}: {e}", redact(url)));
    let _ = conn.close().await;
}

async fn create_database(url: &str, options: &PgConnectOptions) {
    let name = options
        .get_database()
        .unwrap_or_else(|| options.get_username())
        .to_owned();
    let quoted = quote_identifier(&name).unwrap_or_else(|why| {
        panic!(
            "cannot create the test database named in {}: {why}",
            redact(url)
        )
    });
    let maintenance = options.clone().database("postgres");
    let mut conn = connect(&maintenance)
        .await
        .unwrap_or_else(|e| unreachable(url, &e));
    // Another test process may create it between our check and our CREATE.
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| unreachable(url, &e));
    if !exists {
        // CREATE DATABASE takes no bind parameters and cannot run inside a
        // transaction (so not in a DO block either): the name has to be part
        // of the text. `quote_identifier` only admits [A-Za-z0-9_-] and quotes it.
        let sql = format!("CREATE DATABASE {quoted}");
        match sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
        {
            Ok(_) => {}
            Err(e) if sqlstate(&e).is_some_and(|s| CREATED_CONCURRENTLY.contains(&s.as_str())) => {}
            Err(e) => panic!("cannot create the test database {name}: {e}"),
        }
    }
    let _ = conn.close().await;
}

/// One connection, given up after [`ACQUIRE_TIMEOUT`] (a filtered port hangs).
async fn connect(options: &PgConnectOptions) -> Result<PgConnection, sqlx::Error> {
    match tokio::time::timeout(ACQUIRE_TIMEOUT, options.connect()).await {
        Ok(result) => result,
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {ACQUIRE_TIMEOUT:?}"),
        ))),
    }
}

/// The SQLSTATE of a database error.
fn sqlstate(e: &sqlx::Error) -> Option<String> {
    e.as_database_error()
        .and_then(|db| db.code())
        .map(|code| code.into_owned())
}

/// `"name"` for a plain database name, or why the name is refused.
fn quote_identifier(name: &str) -> Result<String, String> {
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if name.is_empty() || name.len() > 63 {
        return Err(format!("`{name}` must be 1 to 63 characters long"));
    }
    if !name.chars().all(plain) {
        return Err(format!(
            "`{name}` may only contain ASCII letters, digits, `_` and `-`"
        ));
    }
    Ok(format!("\"{name}\""))
}

#[track_caller]
fn unreachable(url: &str, e: &sqlx::Error) -> ! {
    panic!(
        "cannot reach PostgreSQL at {}: {}. Start PostgreSQL or set \
         DATABASE_URL=postgres://user@host:port/db",
        redact(url),
        one_line(e)
    )
}

fn one_line(e: &sqlx::Error) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The URL with any password replaced by `***`, fit for messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db?sslmode=disable"),
            "postgres://u:***@h:5432/db?sslmode=disable"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
    }

    #[test]
    fn quotes_plain_names_and_refuses_others() {
        assert_eq!(quote_identifier("es_entity-1").unwrap(), "\"es_entity-1\"");
        assert!(quote_identifier("").is_err());
        assert!(quote_identifier("a\"; DROP DATABASE x; --").is_err());
        assert!(quote_identifier(&"x".repeat(64)).is_err());
    }
}
