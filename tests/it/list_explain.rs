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
