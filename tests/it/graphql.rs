//! The `graphql` feature: a listing served as a connection by a real
//! async-graphql schema, paged through three pages against PostgreSQL.

use async_graphql::connection::Connection;
use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema, SimpleObject};
use es_entity::graphql::OpaqueCursor;
use es_entity::*;

use crate::book_list::{
    NewTask, Task, TaskByTitleCursor, TaskCursor, TaskFilters, TaskSortBy, Tasks,
};
use crate::repo_fixtures::unique;

// ANCHOR: resolver
#[derive(SimpleObject)]
struct TaskNode {
    title: String,
    priority: Option<i32>,
}

struct Query {
    tasks: Tasks,
}

#[Object]
impl Query {
    /// A project's tasks by title, a page at a time.
    async fn tasks(
        &self,
        project: String,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<OpaqueCursor<TaskByTitleCursor>, TaskNode>> {
        let after = after
            .map(|a| <OpaqueCursor<TaskByTitleCursor> as async_graphql::connection::CursorType>::decode_cursor(&a))
            .transpose()?;
        let has_previous = after.is_some();
        let first = first.map(|n| n.clamp(1, 100) as usize);
        let args = PaginatedQueryArgs::from_connection(first, after, 20);
        let page = self
            .tasks
            .list_for_project_by_title(project, args, ListDirection::Ascending)
            .await?;
        Ok(
            page.into_connection_of(has_previous, |task: Task| TaskNode {
                title: task.title,
                priority: task.priority,
            }),
        )
    }
}
// ANCHOR_END: resolver

#[tokio::test]
async fn a_schema_pages_through_a_listing() {
    let pool = es_entity_tests::pool().await;
    let tasks = Tasks::new(pool.clone());
    let project = unique("gql");
    for title in ["a", "b", "c", "d", "e"] {
        tasks
            .create(NewTask::new(&project, title, Some(1)))
            .await
            .unwrap();
    }
    let schema = Schema::new(
        Query {
            tasks: Tasks::new(pool),
        },
        EmptyMutation,
        EmptySubscription,
    );

    let mut after = None::<String>;
    let mut pages = Vec::new();
    loop {
        let after_arg = after
            .as_deref()
            .map(|a| format!(", after: \"{a}\""))
            .unwrap_or_default();
        let query = format!(
            "{{ tasks(project: \"{project}\", first: 2{after_arg}) {{ \
             edges {{ cursor node {{ title }} }} \
             pageInfo {{ hasNextPage hasPreviousPage endCursor }} }} }}"
        );
        let response = schema.execute(query).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let data = response.data.into_json().unwrap();
        let conn = &data["tasks"];
        let titles: Vec<String> = conn["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["title"].as_str().unwrap().to_owned())
            .collect();
        let info = &conn["pageInfo"];
        assert_eq!(info["hasPreviousPage"].as_bool(), Some(after.is_some()));
        let end = info["endCursor"].as_str().map(str::to_owned);
        // Each edge's cursor is URL-safe and the last one is the end cursor.
        let last_edge = conn["edges"].as_array().unwrap().last().unwrap();
        assert_eq!(last_edge["cursor"].as_str().map(str::to_owned), end);
        assert!(
            end.as_deref()
                .unwrap()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        pages.push(titles);
        if !info["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = end;
    }
    assert_eq!(pages, [vec!["a", "b"], vec!["c", "d"], vec!["e"]]);

    // A cursor that is not one is a GraphQL error, not a panic.
    let response = schema
        .execute(format!(
            "{{ tasks(project: \"{project}\", after: \"%%%\") {{ pageInfo {{ hasNextPage }} }} }}"
        ))
        .await;
    assert_eq!(response.errors.len(), 1, "{:?}", response.errors);
    assert!(
        response.errors[0].message.contains("not a cursor"),
        "{:?}",
        response.errors
    );
}

#[tokio::test]
async fn a_list_for_filters_page_gets_edge_cursors_of_its_order() {
    let pool = es_entity_tests::pool().await;
    let tasks = Tasks::new(pool);
    let project = unique("gql-filters");
    for (title, priority) in [("x", 3), ("y", 1), ("z", 2)] {
        tasks
            .create(NewTask::new(&project, title, Some(priority)))
            .await
            .unwrap();
    }
    let filters = TaskFilters {
        project: Some(project.clone()),
        ..Default::default()
    };
    let sort = Sort {
        by: TaskSortBy::Priority,
        direction: ListDirection::Ascending,
    };
    let page = tasks
        .list_for_filters(filters.clone(), sort, PaginatedQueryArgs::first(2))
        .await
        .unwrap();
    let connection: Connection<OpaqueCursor<TaskCursor>, TaskNode> = page.into_connection_with(
        false,
        |t| TaskCursor::of(sort.by, t),
        |t| TaskNode {
            title: t.title,
            priority: t.priority,
        },
    );
    assert!(connection.has_next_page);
    let titles: Vec<_> = connection
        .edges
        .iter()
        .map(|e| e.node.title.as_str())
        .collect();
    assert_eq!(titles, ["y", "z"]);
    // The last edge's cursor continues the listing after it.
    let after = connection.edges.last().unwrap().cursor.0.clone();
    let next = tasks
        .list_for_filters(
            filters,
            sort,
            PaginatedQueryArgs {
                first: 2,
                after: Some(after),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        next.entities
            .iter()
            .map(|t| t.title.as_str())
            .collect::<Vec<_>>(),
        ["x"]
    );
}
