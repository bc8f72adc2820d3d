//! Through PgBouncer: the settings that work and those that fail, with the
//! errors users get. `bash .ci/pgbouncer` starts three PgBouncers, sets the
//! variables below and runs these tests (they are ignored otherwise), after
//! running the repository CRUD, concurrency and listing tests through the
//! first one (`ES_ENTITY_POOLER_URL`, which the harness's pools use).
//!
//! - `ES_ENTITY_POOLER_URL`, `ES_ENTITY_PGBOUNCER_ADMIN_URL`: PgBouncer >=
//!   1.21 in transaction mode with `max_prepared_statements = 200` and
//!   `ignore_startup_parameters = extra_float_digits`
//!   (tests/pgbouncer/transaction.ini).
//! - `ES_ENTITY_PGBOUNCER_UNPREPARED_URL` (and `_ADMIN_URL`): the same
//!   PgBouncer with `max_prepared_statements = 0`, one server connection.
//! - `ES_ENTITY_PGBOUNCER_DEBIAN_URL` (and `_ADMIN_URL`): Debian 12's
//!   package (1.18, which predates `max_prepared_statements`) in transaction
//!   mode with one server connection and nothing ignored;
//!   `ES_ENTITY_PGBOUNCER_DEBIAN_SESSION_URL`: its session-mode database.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use es_entity::*;
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, Column, ConnectOptions, Connection, PgConnection, Row};

use crate::book_list::{NewTask, Tasks};

/// A bound on anything that could wait for a server connection forever.
const WAIT: Duration = Duration::from_secs(10);

fn env_url(var: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| {
            panic!("{var} is not set: `bash .ci/pgbouncer` starts PgBouncer and sets it")
        })
}

fn options(var: &str) -> PgConnectOptions {
    env_url(var)
        .parse()
        .unwrap_or_else(|e| panic!("{var} is not a PostgreSQL URL: {e}"))
}

/// A connection to a PgBouncer admin console, which speaks the simple query
/// protocol only (`raw_sql`); without `extra_float_digits`, which a
/// PgBouncer that does not ignore it refuses.
async fn admin(var: &str) -> PgConnection {
    options(var)
        .extra_float_digits(None)
        .connect()
        .await
        .unwrap_or_else(|e| panic!("cannot reach the PgBouncer admin console ({var}): {e}"))
}

type Rows = Vec<HashMap<String, Option<String>>>;

/// The rows of an admin command such as `SHOW POOLS`, every value as text.
async fn show(admin: &mut PgConnection, command: &str) -> Rows {
    let rows = sqlx::raw_sql(AssertSqlSafe(command.to_owned()))
        .fetch_all(&mut *admin)
        .await
        .unwrap_or_else(|e| panic!("{command}: {e}"));
    rows.iter()
        .map(|row| {
            row.columns()
                .iter()
                .map(|c| {
                    // Text-format values: decode each as text, whatever its type.
                    let v: Option<String> = row.try_get_unchecked(c.ordinal()).unwrap();
                    (c.name().to_owned(), v)
                })
                .collect()
        })
        .collect()
}

fn value<'r>(row: &'r HashMap<String, Option<String>>, column: &str) -> &'r str {
    row.get(column)
        .unwrap_or_else(|| panic!("no column {column} in {row:?}"))
        .as_deref()
        .unwrap_or("")
}

/// `SHOW CONFIG` as key -> value.
async fn config(admin: &mut PgConnection) -> HashMap<String, String> {
    show(admin, "SHOW CONFIG")
        .await
        .iter()
        .map(|r| (value(r, "key").to_owned(), value(r, "value").to_owned()))
        .collect()
}

/// The `SHOW POOLS` row of `database`.
async fn pool_row(admin: &mut PgConnection, database: &str) -> HashMap<String, Option<String>> {
    show(admin, "SHOW POOLS")
        .await
        .into_iter()
        .find(|r| value(r, "database") == database)
        .unwrap_or_else(|| panic!("SHOW POOLS has no pool for {database}"))
}

fn database_of(options: &PgConnectOptions) -> String {
    options.get_database().expect("a database name").to_owned()
}

/// The SQLSTATE and message of a database error.
fn db_error(e: &sqlx::Error) -> (String, String) {
    let db = e
        .as_database_error()
        .unwrap_or_else(|| panic!("expected an error from the server, got {e:?}"));
    (
        db.code().unwrap_or_default().into_owned(),
        db.message().to_owned(),
    )
}

/// The transaction-mode run really goes through PgBouncer: more clients than
/// server connections are served at once, by no more backends than the pool
/// holds, and the statements prepared on those backends are PgBouncer's own
/// (`PGBOUNCER_n`), not the names sqlx gave them (`sqlx_s_n`).
#[tokio::test]
#[ignore = "needs PgBouncer: run by `bash .ci/pgbouncer`"]
async fn transaction_mode_shares_server_connections_and_carries_prepared_statements() {
    let pooler = es_entity_tests::pooler_url().expect("ES_ENTITY_POOLER_URL is set");
    let through: PgConnectOptions = pooler.parse().unwrap();
    let mut admin = admin("ES_ENTITY_PGBOUNCER_ADMIN_URL").await;
    assert_eq!(
        es_entity_tests::connect_options().get_port(),
        through.get_port(),
        "the harness's pools connect to the pooler"
    );

    let settings = config(&mut admin).await;
    let server_pool: usize = settings["default_pool_size"].parse().unwrap();
    assert_ne!(settings["max_prepared_statements"], "0");
    let database = database_of(&through);

    // A repository round through the harness's pool, counted by PgBouncer.
    // (No row before the first connection to the database.)
    let xacts = |stats: &Rows| -> u64 {
        stats
            .iter()
            .find(|r| value(r, "database") == database)
            .map_or(0, |row| value(row, "total_xact_count").parse().unwrap())
    };
    let before = xacts(&show(&mut admin, "SHOW STATS").await);
    let tasks = Tasks::new(es_entity_tests::pool().await);
    let project = crate::book_list::project();
    let mut task = tasks
        .create(NewTask::new(&project, "through pgbouncer", Some(1)))
        .await
        .unwrap();
    task.assign("ada");
    assert_eq!(tasks.update(&mut task).await.unwrap(), 1);
    let page = tasks
        .list_for_project_by_title(
            project,
            PaginatedQueryArgs::first(10),
            ListDirection::Ascending,
        )
        .await
        .unwrap();
    assert_eq!(page.entities[0].assignee.as_deref(), Some("ada"));
    // PgBouncer refreshes SHOW STATS once a `stats_period`; SHOW POOLS and
    // SHOW CLIENTS below are live.
    let mut counted = 0;
    for _ in 0..40 {
        counted = xacts(&show(&mut admin, "SHOW STATS").await) - before;
        if counted >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(counted >= 3, "PgBouncer counted {counted} transactions");

    // More clients than server connections, each with a statement prepared
    // and run: in session mode the extra ones would wait for a server.
    let app = format!("es-entity-pooler-{}", uuid::Uuid::new_v4().simple());
    let mut clients = Vec::new();
    for _ in 0..server_pool + 4 {
        let options = es_entity_tests::connect_options().application_name(&app);
        clients.push(
            tokio::time::timeout(WAIT, options.connect())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let mut backends = BTreeSet::new();
    for client in &mut clients {
        let pid: i32 = tokio::time::timeout(
            WAIT,
            sqlx::query_scalar("SELECT pg_backend_pid() + $1")
                .bind(0)
                .fetch_one(&mut *client),
        )
        .await
        .expect("a server connection within 10 s: is PgBouncer in transaction mode?")
        .unwrap();
        backends.insert(pid);
    }
    assert!(
        backends.len() <= server_pool,
        "{} clients were served by {} backends, more than the pool's {server_pool}",
        clients.len(),
        backends.len()
    );
    let ours: Vec<_> = show(&mut admin, "SHOW CLIENTS")
        .await
        .into_iter()
        .filter(|r| value(r, "application_name") == app)
        .collect();
    assert_eq!(ours.len(), clients.len(), "PgBouncer lists every client");
    assert!(
        ours.iter().all(|r| value(r, "prepared_statements") != "0"),
        "PgBouncer tracks their prepared statements: {ours:?}"
    );

    assert_eq!(
        value(&pool_row(&mut admin, &database).await, "pool_mode"),
        "transaction"
    );

    // On the server, the prepared statements carry PgBouncer's names.
    let named = "SELECT name FROM pg_prepared_statements WHERE $1 ORDER BY name";
    let names: Vec<String> = sqlx::query_scalar(named)
        .bind(true)
        .fetch_all(&mut clients[0])
        .await
        .unwrap();
    assert!(
        !names.is_empty() && names.iter().all(|n| n.starts_with("PGBOUNCER_")),
        "{names:?}"
    );
    // Directly, they carry sqlx's.
    let direct = es_entity_tests::database_url()
        .parse::<PgConnectOptions>()
        .unwrap();
    let mut direct = direct.connect().await.unwrap();
    let names: Vec<String> = sqlx::query_scalar(named)
        .bind(true)
        .fetch_all(&mut direct)
        .await
        .unwrap();
    assert!(names.iter().all(|n| n.starts_with("sqlx_s_")), "{names:?}");
    for client in clients {
        client.close().await.unwrap();
    }
}

/// Two repositories, each on a pool of one connection, through a PgBouncer
/// with one server connection that does not track prepared statements.
/// Each sqlx connection names its statements `sqlx_s_1`, `sqlx_s_2`, ...
/// and PgBouncer hands both clients the same server connection: the second
/// client's first statement collides with the first client's. Once that
/// server connection is replaced (as `server_lifetime`, a restart or a
/// failover do; here `RECONNECT`), the first client's statements are gone.
async fn statement_names_collide(url_var: &str, admin_var: &str) -> (String, String) {
    let through = options(url_var).extra_float_digits(None);
    let one = |o: PgConnectOptions| async move {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(WAIT)
            .connect_with(o)
            .await
            .unwrap()
    };
    let first = Tasks::new(one(through.clone()).await);
    let second = Tasks::new(one(through.clone()).await);
    let project = crate::book_list::project();

    let task = first
        .create(NewTask::new(&project, "prepared on the only server", None))
        .await
        .expect("the first client has the server connection to itself");
    first.find_by_id(task.id).await.unwrap();

    let err = second.find_by_id(task.id).await.unwrap_err();
    let shown = err.to_string();
    let FindError::Sqlx(sqlx_err) = &err else {
        panic!("expected a database error, got {err:?}")
    };
    let (code, message) = db_error(sqlx_err);
    assert_eq!(code, "42P05", "duplicate_prepared_statement: {shown}");
    assert_eq!(message, r#"prepared statement "sqlx_s_1" already exists"#);

    let mut admin = admin(admin_var).await;
    let database = database_of(&through);
    sqlx::raw_sql(AssertSqlSafe(format!("RECONNECT {database}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let err = first.find_by_id(task.id).await.unwrap_err();
    let FindError::Sqlx(sqlx_err) = &err else {
        panic!("expected a database error, got {err:?}")
    };
    let (code, message) = db_error(sqlx_err);
    assert_eq!(code, "26000", "invalid_sql_statement_name: {err}");
    assert!(
        message.starts_with(r#"prepared statement "sqlx_s_"#)
            && message.ends_with("does not exist"),
        "{message}"
    );
    (shown, err.to_string())
}

/// `max_prepared_statements = 0` (the default before PgBouncer 1.24) in
/// transaction mode: sqlx's prepared statements collide and vanish.
#[tokio::test]
#[ignore = "needs PgBouncer: run by `bash .ci/pgbouncer`"]
async fn without_max_prepared_statements_statements_collide_and_vanish() {
    let mut admin = admin("ES_ENTITY_PGBOUNCER_UNPREPARED_ADMIN_URL").await;
    assert_eq!(config(&mut admin).await["max_prepared_statements"], "0");
    let (collided, vanished) = statement_names_collide(
        "ES_ENTITY_PGBOUNCER_UNPREPARED_URL",
        "ES_ENTITY_PGBOUNCER_UNPREPARED_ADMIN_URL",
    )
    .await;
    println!("max_prepared_statements = 0:\n  {collided}\n  {vanished}");
}

/// Settings in the startup packet's `options` (what `PgConnectOptions::options`
/// sends) are refused, even with the working settings: PgBouncer cannot
/// restore them on each server connection. `SET LOCAL` in the transaction,
/// or `ALTER ROLE ... SET`, works instead.
#[tokio::test]
#[ignore = "needs PgBouncer: run by `bash .ci/pgbouncer`"]
async fn startup_options_are_refused() {
    es_entity_tests::pooler_url().expect("ES_ENTITY_POOLER_URL is set");
    let err = es_entity_tests::connect_options()
        .options([("statement_timeout", "5s")])
        .connect()
        .await
        .unwrap_err();
    let (code, message) = db_error(&err);
    assert_eq!(code, "08P01", "{err}");
    assert_eq!(
        message,
        "unsupported startup parameter in options: statement_timeout"
    );

    // SET LOCAL lasts for the transaction, on whichever server runs it.
    let pool = es_entity_tests::pool().await;
    let mut op = DbOp::init(&pool).await.unwrap();
    sqlx::raw_sql("SET LOCAL statement_timeout = '5s'")
        .execute(op.as_executor())
        .await
        .unwrap();
    let timeout: String = sqlx::query_scalar("SELECT current_setting($1)")
        .bind("statement_timeout")
        .fetch_one(op.as_executor())
        .await
        .unwrap();
    assert_eq!(timeout, "5s");
    op.commit().await.unwrap();
}

/// A `LISTEN` through transaction mode stays on the server connection after
/// the client's transaction, and the notifications go to whichever client
/// has that connection when they arrive; a sqlx connection that is not a
/// listener fails on them. This is why projection runners need a session.
/// One server connection (`pool_size=1`) makes it deterministic; PgBouncer's
/// prepared statement tracking plays no part (simple protocol only).
#[tokio::test]
#[ignore = "needs PgBouncer: run by `bash .ci/pgbouncer`"]
async fn notifications_of_a_listen_reach_other_clients() {
    let through = options("ES_ENTITY_PGBOUNCER_UNPREPARED_URL");
    let channel = format!("es_entity_pooler_{}", uuid::Uuid::new_v4().simple());
    let mut listener = through.connect().await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(format!("LISTEN {channel}")))
        .execute(&mut listener)
        .await
        .unwrap();

    // Another client gets that server connection, in a transaction ...
    let mut other = through.connect().await.unwrap();
    sqlx::raw_sql("BEGIN").execute(&mut other).await.unwrap();
    // ... when a notification is sent (directly, not through PgBouncer).
    let mut direct = es_entity_tests::database_url()
        .parse::<PgConnectOptions>()
        .unwrap()
        .connect()
        .await
        .unwrap();
    sqlx::raw_sql(AssertSqlSafe(format!("NOTIFY {channel}")))
        .execute(&mut direct)
        .await
        .unwrap();
    let err = sqlx::raw_sql("COMMIT")
        .execute(&mut other)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, sqlx::Error::Protocol(m) if m.contains("unexpected message: NotificationResponse")),
        "{err:?}"
    );
    println!("a client that got a listener's server connection: {err}");

    // Close that server connection, and its LISTEN with it.
    let mut admin = admin("ES_ENTITY_PGBOUNCER_UNPREPARED_ADMIN_URL").await;
    let database = database_of(&through);
    sqlx::raw_sql(AssertSqlSafe(format!("RECONNECT {database}")))
        .execute(&mut admin)
        .await
        .unwrap();
}

/// Debian 12's PgBouncer 1.18 has no `max_prepared_statements`: in
/// transaction mode sqlx fails the same way, and without
/// `ignore_startup_parameters = extra_float_digits` it cannot even connect.
#[tokio::test]
#[ignore = "needs PgBouncer: run by `bash .ci/pgbouncer`"]
async fn debian_12_pgbouncer_fails_in_transaction_mode() {
    let mut admin = admin("ES_ENTITY_PGBOUNCER_DEBIAN_ADMIN_URL").await;
    let version = show(&mut admin, "SHOW VERSION").await;
    let version = value(&version[0], "version").to_owned();
    assert!(version.starts_with("PgBouncer 1.18"), "{version}");
    let settings = config(&mut admin).await;
    assert!(!settings.contains_key("max_prepared_statements"));
    assert_eq!(settings["ignore_startup_parameters"], "");

    // sqlx's defaults send extra_float_digits in the startup packet.
    let err = options("ES_ENTITY_PGBOUNCER_DEBIAN_URL")
        .connect()
        .await
        .unwrap_err();
    let (code, message) = db_error(&err);
    assert_eq!(code, "08P01", "protocol_violation: {err}");
    assert_eq!(message, "unsupported startup parameter: extra_float_digits");
    println!("sqlx defaults: {err}");

    let (collided, vanished) = statement_names_collide(
        "ES_ENTITY_PGBOUNCER_DEBIAN_URL",
        "ES_ENTITY_PGBOUNCER_DEBIAN_ADMIN_URL",
    )
    .await;
    println!("{version}, transaction mode:\n  {collided}\n  {vanished}");
}

/// Debian 12's PgBouncer in session mode works (a client keeps its server
/// connection, and with it its prepared statements), but pools nothing
/// between transactions.
#[tokio::test]
#[ignore = "needs PgBouncer: run by `bash .ci/pgbouncer`"]
async fn debian_12_pgbouncer_works_in_session_mode() {
    let through = options("ES_ENTITY_PGBOUNCER_DEBIAN_SESSION_URL").extra_float_digits(None);
    let database = database_of(&through);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(3)
        .acquire_timeout(WAIT)
        .connect_with(through)
        .await
        .unwrap();
    // PgBouncer makes a pool on the first connection to its database.
    let mut admin = admin("ES_ENTITY_PGBOUNCER_DEBIAN_ADMIN_URL").await;
    assert_eq!(
        value(&pool_row(&mut admin, &database).await, "pool_mode"),
        "session"
    );
    let tasks = Tasks::new(pool.clone());
    let project = crate::book_list::project();
    let created = crate::book_list::seed(&tasks, &project, &[("a", Some(1)), ("b", None)]).await;
    let mut task = tasks.find_by_id(created[0].id).await.unwrap();
    task.assign("grace");
    assert_eq!(tasks.update(&mut task).await.unwrap(), 1);
    let page = tasks
        .list_for_project_by_title(
            project,
            PaginatedQueryArgs::first(1),
            ListDirection::Ascending,
        )
        .await
        .unwrap();
    assert_eq!(page.entities[0].assignee.as_deref(), Some("grace"));
    assert!(page.has_next_page);

    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM pg_prepared_statements WHERE $1")
        .bind(true)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(
        !names.is_empty() && names.iter().all(|n| n.starts_with("sqlx_s_")),
        "{names:?}"
    );
}
