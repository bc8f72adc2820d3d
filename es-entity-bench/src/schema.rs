//! The benchmark's database: which one, and its tables.
//!
//! Shared by the build scripts (the crates' `sqlx::query!` statements are
//! checked online against these tables, so they must exist before the
//! crates compile) and by the benchmark at start-up.

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

/// The database used when `DATABASE_URL` is not set: the test suite's.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/es_entity_test";

/// The bench tables, applied in this order. Every statement is idempotent.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "20261201000000_bench_accounts.sql",
        include_str!("../migrations/20261201000000_bench_accounts.sql"),
    ),
    (
        "20261202000000_bench_projection.sql",
        include_str!("../migrations/20261202000000_bench_projection.sql"),
    ),
    (
        "20261203000000_bench_snapshot_nested.sql",
        include_str!("../migrations/20261203000000_bench_snapshot_nested.sql"),
    ),
    (
        "20261204000000_bench_peer012_accounts.sql",
        include_str!("../migrations/20261204000000_bench_peer012_accounts.sql"),
    ),
    // The function the repositories' unchecked writes call, as the
    // workspace's migration defines it (`CREATE OR REPLACE`: idempotent).
    (
        "20261130000100_stream_tail.sql",
        include_str!("../../migrations/20261130000100_stream_tail.sql"),
    ),
];

/// The schema holding the projection workloads' `es_projections` table and
/// feed sequence (see that migration): the projection workloads connect
/// with it first on their `search_path`.
#[allow(dead_code)] // the build scripts include this file too
pub const PROJECTION_SCHEMA: &str = "es_entity_bench";

/// The advisory lock taken while the tables are (re)created: the two build
/// scripts may run at the same time, and concurrent `CREATE TABLE IF NOT
/// EXISTS` of one table can fail.
const SCHEMA_LOCK: i64 = 0x0065_7362_656e_6368; // "esbench" in ASCII

/// `DATABASE_URL`, or [`DEFAULT_DATABASE_URL`] when it is unset or empty.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
}

/// Creates the database when missing and applies [`MIGRATIONS`].
pub async fn prepare(url: &str) -> Result<(), String> {
    let options: PgConnectOptions = url
        .parse()
        .map_err(|e| format!("DATABASE_URL is not a PostgreSQL URL: {e}"))?;
    let mut conn = match options.connect().await {
        Ok(conn) => conn,
        // invalid_catalog_name: the server is up, the database is not there.
        Err(e) if sqlstate(&e).as_deref() == Some("3D000") => {
            create_database(&options).await?;
            options.connect().await.map_err(|e| e.to_string())?
        }
        Err(e) => return Err(format!("cannot reach PostgreSQL: {e}")),
    };
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(SCHEMA_LOCK)
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    for (name, sql) in MIGRATIONS {
        sqlx::raw_sql(*sql)
            .execute(&mut conn)
            .await
            .map_err(|e| format!("migration {name}: {e}"))?;
    }
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(SCHEMA_LOCK)
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let _ = conn.close().await;
    Ok(())
}

async fn create_database(options: &PgConnectOptions) -> Result<(), String> {
    let name = options
        .get_database()
        .unwrap_or_else(|| options.get_username())
        .to_owned();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!("will not create a database named `{name}`"));
    }
    let mut conn: PgConnection = options
        .clone()
        .database("postgres")
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    let sql = format!("CREATE DATABASE \"{name}\"");
    match sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
    {
        Ok(_) => {}
        // Created concurrently by someone else: fine.
        Err(e) if matches!(sqlstate(&e).as_deref(), Some("42P04" | "23505")) => {}
        Err(e) => return Err(format!("cannot create database {name}: {e}")),
    }
    let _ = conn.close().await;
    Ok(())
}

fn sqlstate(e: &sqlx::Error) -> Option<String> {
    e.as_database_error()
        .and_then(|db| db.code())
        .map(|code| code.into_owned())
}
