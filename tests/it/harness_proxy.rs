//! The harness's fault-injecting proxy (`es_entity_tests::proxy`) against the
//! real server: it relays a session unchanged, and an armed fault drops the
//! client's connection after the server has committed, the client seeing
//! only an I/O error.

use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

use es_entity_tests::proxy::{Fault, Proxy};
use sqlx::{ConnectOptions, Connection, PgPool, Row};
use uuid::Uuid;

/// Upper bound for "returns rather than hangs"; not a speed requirement.
const BOUND: Duration = Duration::from_secs(15);

async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, f)
        .await
        .unwrap_or_else(|_| panic!("{what} hung for {BOUND:?}"))
}

/// A scratch table only this test uses.
async fn scratch(pool: &PgPool) -> String {
    let table = format!("proxy_scratch_{}", Uuid::now_v7().simple());
    let sql = format!("CREATE TABLE {table} (id UUID PRIMARY KEY, note TEXT NOT NULL)");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(pool)
        .await
        .expect("create the scratch table");
    table
}

async fn drop_table(pool: &PgPool, table: &str) {
    let sql = format!("DROP TABLE {table}");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(pool)
        .await
        .expect("drop the scratch table");
}

async fn count(pool: &PgPool, table: &str, id: Uuid) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE id = $1");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("count through a direct connection")
}

fn insert_sql(table: &str) -> String {
    format!("INSERT INTO {table} (id, note) VALUES ($1, $2)")
}

async fn insert(pool: &PgPool, table: &str, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(insert_sql(table)))
        .bind(id)
        .bind("through the proxy")
        .execute(pool)
        .await
        .map(|_| ())
}

/// What sqlx returns when the proxy closes the connection instead of
/// relaying the reply: the socket reached end of stream.
#[track_caller]
fn assert_connection_closed(err: &sqlx::Error) {
    assert!(
        matches!(err, sqlx::Error::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof),
        "expected sqlx::Error::Io(UnexpectedEof), got {err:?}"
    );
}

#[tokio::test]
async fn plain_queries_pass_through_unchanged() {
    let proxy = Proxy::start().await;
    let via = proxy.pool().await;
    let direct = es_entity_tests::pool().await;

    // Typed binds and results (extended protocol, binary format).
    let id = Uuid::now_v7();
    let sql = "SELECT $1::text AS t, $2::int8 AS n, $3::uuid AS u, $4::bytea AS b, \
               current_database() AS db, current_user AS who";
    let mut seen = Vec::new();
    for pool in [&via, &direct] {
        let row = sqlx::query(sql)
            .bind("zażółć \u{1F980}")
            .bind(i64::MIN)
            .bind(id)
            .bind(vec![0u8, 1, 2, 255])
            .fetch_one(pool)
            .await
            .unwrap();
        seen.push((
            row.get::<String, _>("t"),
            row.get::<i64, _>("n"),
            row.get::<Uuid, _>("u"),
            row.get::<Vec<u8>, _>("b"),
            row.get::<String, _>("db"),
            row.get::<String, _>("who"),
        ));
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0].0, "zażółć \u{1F980}");

    // Many rows and one large value: replies spanning many socket reads.
    let series: Vec<i64> = sqlx::query_scalar("SELECT g FROM generate_series(1, $1::int8) g")
        .bind(20_000i64)
        .fetch_all(&via)
        .await
        .unwrap();
    assert_eq!(series, (1..=20_000).collect::<Vec<i64>>());
    let big: String = sqlx::query_scalar("SELECT repeat('x', $1)")
        .bind(3_000_000i32)
        .fetch_one(&via)
        .await
        .unwrap();
    assert_eq!(big.len(), 3_000_000);
    let echoed: String = sqlx::query_scalar("SELECT $1::text")
        .bind("y".repeat(2_000_000))
        .fetch_one(&via)
        .await
        .unwrap();
    assert_eq!(echoed.len(), 2_000_000);

    // Simple protocol, several statements in one message.
    let done = sqlx::raw_sql("SELECT 1; SELECT 2; SELECT 3")
        .execute(&via)
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 3);

    // A database error arrives intact, and the connection stays usable.
    let err = sqlx::query("SELECT 1 / $1::int4")
        .bind(0)
        .execute(&via)
        .await
        .unwrap_err();
    assert_eq!(
        err.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("22012"),
        "{err:?}"
    );

    // A transaction through the proxy commits for everyone.
    let table = scratch(&direct).await;
    let mut tx = via.begin().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(insert_sql(&table)))
        .bind(id)
        .bind("in a transaction")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(count(&direct, &table, id).await, 0, "not yet committed");
    tx.commit().await.unwrap();
    assert_eq!(count(&direct, &table, id).await, 1);
    drop_table(&direct, &table).await;

    assert!(proxy.fired().is_empty());
    assert!(proxy.connections_accepted() >= 1);
}

#[tokio::test]
async fn an_execute_fault_drops_the_client_after_the_server_committed() {
    let direct = es_entity_tests::pool().await;
    let proxy = Proxy::start().await;
    let via = proxy.pool().await;
    let table = scratch(&direct).await;

    proxy.arm(Fault::after_execute().containing(format!("INSERT INTO {table}")));
    // Other statements run normally and leave the fault armed.
    let seven: i64 = sqlx::query_scalar("SELECT $1::int8")
        .bind(7i64)
        .fetch_one(&via)
        .await
        .unwrap();
    assert_eq!(seven, 7);
    assert!(proxy.armed().is_some());

    // The INSERT is prepared first (Parse+Describe+Sync, which does not
    // trip), then run (Bind+Execute+Close+Sync, which does).
    let id = Uuid::now_v7();
    let started = Instant::now();
    let err = bounded("the faulted insert", insert(&via, &table, id))
        .await
        .expect_err("the client never sees the reply");
    eprintln!(
        "client error after {:?}: {err:?} / {err}",
        started.elapsed()
    );
    assert_connection_closed(&err);

    let fired = proxy.fired();
    assert_eq!(fired.len(), 1, "{fired:#?}");
    let fired = &fired[0];
    assert_eq!(fired.message, b'E');
    assert_eq!(fired.sql.as_deref(), Some(insert_sql(&table).as_str()));
    assert_eq!(fired.withheld.command_tags, ["INSERT 0 1"]);
    assert_eq!(fired.withheld.ready, Some(b'I'), "autocommit: idle again");
    assert!(fired.withheld.errors.is_empty());
    assert!(fired.withheld.committed());
    assert!(proxy.armed().is_none(), "a fault fires once");

    // The write the client saw fail is committed.
    assert_eq!(count(&direct, &table, id).await, 1);
    drop_table(&direct, &table).await;
}

#[tokio::test]
async fn after_a_fault_the_proxy_accepts_new_connections_and_the_pool_recovers() {
    let direct = es_entity_tests::pool().await;
    let proxy = Proxy::start().await;
    let via = proxy.pool().await;
    let table = scratch(&direct).await;
    let count_all = format!("SELECT COUNT(*) FROM {table}");

    for round in 1..=3i64 {
        let accepted = proxy.connections_accepted();
        proxy.arm(Fault::after_execute().containing(format!("INSERT INTO {table}")));
        let id = Uuid::now_v7();
        let err = bounded("the faulted insert", insert(&via, &table, id))
            .await
            .unwrap_err();
        assert_connection_closed(&err);
        assert_eq!(count(&direct, &table, id).await, 1);

        // The same pool, through the proxy: a new connection replaces the
        // dropped one and sees every committed row.
        let seen: i64 = bounded(
            "a query after the fault",
            sqlx::query_scalar(sqlx::AssertSqlSafe(count_all.clone())).fetch_one(&via),
        )
        .await
        .expect("the pool recovers after the fault");
        assert_eq!(seen, 2 * round - 1, "every earlier row and the faulted one");
        insert(&via, &table, Uuid::now_v7())
            .await
            .expect("writes work again");
        assert!(
            proxy.connections_accepted() > accepted,
            "round {round}: a new connection went through the proxy"
        );
    }
    assert_eq!(proxy.fired().len(), 3);
    drop_table(&direct, &table).await;
}

#[tokio::test]
async fn a_commit_fault_loses_the_reply_not_the_transaction() {
    let direct = es_entity_tests::pool().await;
    let proxy = Proxy::start().await;
    let via = proxy.pool().await;
    let table = scratch(&direct).await;

    let id = Uuid::now_v7();
    let mut tx = via.begin().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(insert_sql(&table)))
        .bind(id)
        .bind("committed blind")
        .execute(&mut *tx)
        .await
        .unwrap();
    // sqlx sends COMMIT as a simple Query message.
    proxy.arm(Fault::after_query().containing("COMMIT"));
    let err = bounded("the faulted commit", tx.commit())
        .await
        .expect_err("the client never sees the commit's reply");
    eprintln!("client error on COMMIT: {err:?}");
    assert_connection_closed(&err);

    let fired = proxy.fired();
    assert_eq!(fired.len(), 1, "{fired:#?}");
    assert_eq!(fired[0].message, b'Q');
    assert_eq!(fired[0].sql.as_deref(), Some("COMMIT"));
    assert_eq!(fired[0].withheld.command_tags, ["COMMIT"]);
    assert!(fired[0].withheld.committed());
    assert_eq!(count(&direct, &table, id).await, 1);
    drop_table(&direct, &table).await;
}

#[tokio::test]
async fn a_fault_waits_for_the_server_only_so_long() {
    let proxy = Proxy::start().await;
    let via = proxy.pool().await;
    let wait = Duration::from_millis(300);
    proxy.arm(
        Fault::after_execute()
            .containing("pg_sleep")
            .reply_wait(wait),
    );
    let started = Instant::now();
    let err = bounded(
        "the faulted sleep",
        sqlx::query("SELECT pg_sleep($1)")
            .bind(3.0f64)
            .execute(&via),
    )
    .await
    .unwrap_err();
    let took = started.elapsed();
    assert_connection_closed(&err);
    assert!(took >= wait, "closed after {took:?}");
    assert!(took < Duration::from_millis(2500), "closed after {took:?}");
    let fired = proxy.fired();
    assert_eq!(fired[0].withheld.ready, None, "no answer within the wait");
    assert!(!fired[0].withheld.committed());
}

#[tokio::test]
async fn dropping_the_proxy_closes_its_connections() {
    let proxy = Proxy::start().await;
    let mut conn = proxy.connect_options().connect().await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(one, 1);
    let addr = proxy.addr();
    assert!(addr.ip().is_loopback());
    drop(proxy);

    let err = bounded(
        "a query on a connection of a dropped proxy",
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&mut conn),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, sqlx::Error::Io(_)), "{err:?}");
    let _ = conn.close_hard().await;
    // Nothing listens there any more (give the aborted task a moment).
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
