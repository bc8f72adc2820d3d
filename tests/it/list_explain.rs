//! Listings must walk an index on `(column, id)` instead of sorting the
//! table. The test captures the exact statement `list_by_title` sends (via
//! the statement counter of `repo_round_trips`) and asks PostgreSQL for its
//! plan over at least 10,000 rows.

use es_entity::*;
use serde_json::Value;
use sqlx::AssertSqlSafe;

use crate::book_list::{NewTask, TaskByTitleCursor, Tasks};
use crate::repo_round_trips::counting;

const PROJECT: &str = "explain-10k";
const ROWS: i64 = 10_000;

/// Fills `PROJECT` up to `ROWS` tasks once; later runs find them there.
async fn ensure_rows(pool: &sqlx::PgPool) {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(2026112210000)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let have: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE project = 'explain-10k'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    if have < ROWS {
        sqlx::query(
            "WITH t AS (INSERT INTO tasks (id, created_at, title, priority, project) \
             SELECT gen_random_uuid(), NOW(), 'title-' || lpad(g::text, 6, '0'), g % 100, 'explain-10k' \
             FROM generate_series(1, 10000) g RETURNING id, title, priority, project, created_at) \
             INSERT INTO task_events (id, sequence, event_type, event, recorded_at) \
             SELECT id, 1, 'created', jsonb_build_object('type', 'created', 'title', title, \
             'project', project, 'priority', priority), created_at FROM t",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    sqlx::query("ANALYZE tasks").execute(pool).await.unwrap();
}

/// Every plan node, depth first.
fn nodes(plan: &Value) -> Vec<&Value> {
    let mut out = vec![plan];
    if let Some(children) = plan["Plans"].as_array() {
        for child in children {
            out.extend(nodes(child));
        }
    }
    out
}

fn touches_tasks(plan: &Value) -> bool {
    nodes(plan).iter().any(|n| n["Relation Name"] == "tasks")
}

#[tokio::test]
async fn list_by_title_walks_the_title_id_index() {
    let pool = es_entity_tests::pool().await;
    ensure_rows(&pool).await;
    let tasks = Tasks::new(pool.clone());
    // A cursor in the middle of the 10,000 rows.
    let middle = tasks
        .create(NewTask::new(PROJECT, "title-005000x", Some(1)))
        .await
        .unwrap();
    let cursor = TaskByTitleCursor::from(&middle);

    let captured = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let slot = captured.clone();
    counting(|counted, counter| async move {
        let tasks = Tasks::new(counted);
        let args = PaginatedQueryArgs {
            first: 100,
            after: Some(cursor.clone()),
        };
        let page = tasks
            .list_by_title(args, ListDirection::Ascending)
            .await
            .unwrap();
        assert_eq!(page.entities.len(), 100);
        let statements = counter.take();
        assert_eq!(
            statements.len(),
            1,
            "one round trip per page: {statements:#?}"
        );
        *slot.lock().unwrap() = statements.into_iter().next().unwrap();
    })
    .await;
    let sql = captured.lock().unwrap().clone();
    assert!(sql.contains("ORDER BY title, id LIMIT $1"), "{sql}");

    let mut conn = pool.acquire().await.unwrap();
    sqlx::query(AssertSqlSafe(format!("PREPARE list_page AS {sql}")))
        .execute(&mut *conn)
        .await
        .unwrap();
    let explain = format!(
        "EXPLAIN (FORMAT JSON) EXECUTE list_page(101, '{}', '{}')",
        middle.title, middle.id
    );
    let plan: Value = sqlx::query_scalar(AssertSqlSafe(explain))
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let plan = &plan[0]["Plan"];
    let all = nodes(plan);
    let scans: Vec<_> = all
        .iter()
        .filter(|n| n["Relation Name"] == "tasks")
        .collect();
    assert_eq!(scans.len(), 1, "{plan:#}");
    assert!(
        matches!(
            scans[0]["Node Type"].as_str(),
            Some("Index Scan" | "Index Only Scan")
        ),
        "tasks is not read through an index: {plan:#}"
    );
    assert_eq!(scans[0]["Index Name"], "tasks_title_id_idx", "{plan:#}");
    // The page's LIMIT sits on the index scan: no Sort of the table below it.
    // (Above it, the ~100 entities' events are ordered, which is cheap.)
    let limit = all
        .iter()
        .find(|n| n["Node Type"] == "Limit" && touches_tasks(n))
        .unwrap_or_else(|| panic!("no LIMIT over tasks: {plan:#}"));
    let sorted_below = nodes(limit).iter().any(|n| n["Node Type"] == "Sort");
    assert!(
        !sorted_below,
        "the tasks table is sorted instead of walked: {plan:#}"
    );
}

/// The SQL of the one statement `body` sends.
async fn captured_statement<F, Fut>(body: F) -> String
where
    F: FnOnce(sqlx::PgPool) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let captured = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let slot = captured.clone();
    counting(|counted, counter| async move {
        body(counted).await;
        let statements = counter.take();
        assert_eq!(statements.len(), 1, "{statements:#?}");
        *slot.lock().unwrap() = statements.into_iter().next().unwrap();
    })
    .await;
    let mut slot = captured.lock().unwrap();
    std::mem::take(&mut *slot)
}

/// The scans of `tasks` in the plan of `EXECUTE <execute>`.
async fn task_scans(conn: &mut sqlx::PgConnection, execute: &str) -> (Value, Vec<Value>) {
    let plan: Value = sqlx::query_scalar(AssertSqlSafe(format!(
        "EXPLAIN (FORMAT JSON) EXECUTE {execute}"
    )))
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let plan = plan[0]["Plan"].clone();
    let scans = nodes(&plan)
        .into_iter()
        .filter(|n| n["Relation Name"] == "tasks")
        .cloned()
        .collect();
    (plan, scans)
}

/// A filter on a nullable column (`assignee: Option<String>`) must reach the
/// index on `(assignee, created_at, id)` for a value and for `None` alike:
/// `IS NOT DISTINCT FROM`, which the filter used to be, is no index condition.
/// Checked on the first executions of the prepared statement and again after
/// ten, when PostgreSQL may switch to a generic plan.
#[tokio::test]
async fn a_nullable_list_for_filter_walks_its_index() {
    let pool = es_entity_tests::pool().await;
    ensure_rows(&pool).await; // 10,000 tasks without an assignee
    let sql = captured_statement(|counted| async move {
        let tasks = Tasks::new(counted);
        tasks
            .list_for_assignee_by_created_at(
                Some("nobody-explain".to_owned()),
                PaginatedQueryArgs::first(100),
                ListDirection::Ascending,
            )
            .await
            .unwrap();
    })
    .await;
    assert!(!sql.contains("DISTINCT"), "{sql}");
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query(AssertSqlSafe(format!("PREPARE by_assignee AS {sql}")))
        .execute(&mut *conn)
        .await
        .unwrap();
    for round in 0..2 {
        for (args, what) in [
            ("(101, 'nobody-explain')", "a value"),
            ("(101, NULL)", "None"),
        ] {
            let (plan, scans) = task_scans(&mut conn, &format!("by_assignee{args}")).await;
            assert_eq!(scans.len(), 1, "{what}, round {round}: {plan:#}");
            assert!(
                matches!(
                    scans[0]["Node Type"].as_str(),
                    Some("Index Scan" | "Index Only Scan")
                ),
                "{what}, round {round}: tasks is not read through an index: {plan:#}"
            );
            // With a value, the assignee index finds the rows; with `None`,
            // which all 10,000 rows match here, walking `(created_at, id)`
            // and skipping the others is as good: either way the page is
            // read in order, with no Sort of the table.
            if what == "a value" {
                assert_eq!(
                    scans[0]["Index Name"], "tasks_assignee_created_at_id_idx",
                    "{what}, round {round}: {plan:#}"
                );
            }
            let limit = nodes(&plan)
                .into_iter()
                .find(|n| n["Node Type"] == "Limit" && touches_tasks(n))
                .unwrap_or_else(|| panic!("no LIMIT over tasks: {plan:#}"));
            assert!(
                !nodes(limit).iter().any(|n| n["Node Type"] == "Sort"),
                "{what}, round {round}: the tasks table is sorted: {plan:#}"
            );
        }
        for _ in 0..10 {
            sqlx::query("EXECUTE by_assignee(101, 'nobody-explain')")
                .execute(&mut *conn)
                .await
                .unwrap();
        }
    }
}

/// `find_by_<col>` on a nullable column likewise: `Member::nickname` is
/// `UNIQUE`, so its index can serve a lookup. With sequential scans off,
/// PostgreSQL still falls back to one for a condition no index can serve,
/// so the plan shows whether the condition is indexable at all.
#[tokio::test]
async fn a_nullable_find_by_uses_its_index() {
    let pool = es_entity_tests::pool().await;
    let sql = captured_statement(|counted| async move {
        let members = crate::repo_fixtures::Members::new(&counted);
        let _ = members.maybe_find_by_nickname(None::<String>).await;
    })
    .await;
    assert!(!sql.contains("DISTINCT"), "{sql}");
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query(AssertSqlSafe(format!("PREPARE by_nickname AS {sql}")))
        .execute(&mut *conn)
        .await
        .unwrap();
    for (round, args) in ["('someone')", "(NULL)", "('someone')", "(NULL)"]
        .into_iter()
        .enumerate()
    {
        if round == 2 {
            // Past the five custom plans, so a generic one may be chosen.
            for _ in 0..10 {
                sqlx::query("EXECUTE by_nickname('someone')")
                    .execute(&mut *conn)
                    .await
                    .unwrap();
            }
        }
        let plan: Value = sqlx::query_scalar(AssertSqlSafe(format!(
            "EXPLAIN (FORMAT JSON) EXECUTE by_nickname{args}"
        )))
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        let plan = &plan[0]["Plan"];
        let all = nodes(plan);
        assert!(
            !all.iter()
                .any(|n| n["Node Type"] == "Seq Scan" && n["Relation Name"] == "members"),
            "{args}, round {round}: members is scanned in full: {plan:#}"
        );
        assert!(
            all.iter()
                .any(|n| n["Index Name"] == "members_nickname_key"),
            "{args}, round {round}: the nickname index is not used: {plan:#}"
        );
    }
}
