//! `Task`: the entity of the book's listing chapters (list_by, list_for,
//! list_for_filters, find_all, delete) and their tests.

use std::collections::HashMap;

use es_entity::*;
use serde::{Deserialize, Serialize};

// ANCHOR: entity
entity_id! { TaskId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "TaskId")]
pub enum TaskEvent {
    Created {
        title: String,
        project: String,
        priority: Option<i32>,
    },
    Assigned {
        assignee: String,
    },
    Deleted,
}

#[derive(EsEntity, Debug)]
pub struct Task {
    pub id: TaskId,
    pub title: String,
    pub project: String,
    pub priority: Option<i32>,
    pub assignee: Option<String>,
    events: EntityEvents<TaskEvent>,
}

impl Task {
    pub fn assign(&mut self, assignee: &str) {
        self.assignee = Some(assignee.to_owned());
        self.events.push(TaskEvent::Assigned {
            assignee: assignee.to_owned(),
        });
    }

    pub fn delete(&mut self) {
        self.events.push(TaskEvent::Deleted);
    }
}

#[derive(EsRepo)]
#[es_repo(
    entity = "Task",
    delete = "soft",
    columns(
        title(ty = "String", list_by),
        priority(ty = "Option<i32>", list_by),
        project(ty = "String", list_for),
        assignee(ty = "Option<String>", list_for(by(created_at, priority))),
    )
)]
pub struct Tasks {
    pool: sqlx::PgPool,
}
// ANCHOR_END: entity

impl TryFromEvents<TaskEvent> for Task {
    fn try_from_events(events: EntityEvents<TaskEvent>) -> Result<Self, EntityHydrationError> {
        let mut task = None;
        for event in events.iter_all() {
            match (event, &mut task) {
                (
                    TaskEvent::Created {
                        title,
                        project,
                        priority,
                    },
                    _,
                ) => task = Some((title.clone(), project.clone(), *priority, None)),
                (TaskEvent::Assigned { assignee }, Some(t)) => t.3 = Some(assignee.clone()),
                _ => {}
            }
        }
        let (title, project, priority, assignee) =
            task.ok_or_else(|| events.missing_field("title"))?;
        Ok(Task {
            id: *events.id(),
            title,
            project,
            priority,
            assignee,
            events,
        })
    }
}

pub struct NewTask {
    pub id: TaskId,
    pub title: String,
    pub project: String,
    pub priority: Option<i32>,
    pub assignee: Option<String>,
}

impl NewTask {
    pub fn new(project: &str, title: &str, priority: Option<i32>) -> Self {
        Self {
            id: TaskId::new(),
            title: title.to_owned(),
            project: project.to_owned(),
            priority,
            assignee: None,
        }
    }
}

impl IntoEvents<TaskEvent> for NewTask {
    fn into_events(self) -> EntityEvents<TaskEvent> {
        let created = TaskEvent::Created {
            title: self.title,
            project: self.project,
            priority: self.priority,
        };
        let assigned = self
            .assignee
            .map(|assignee| TaskEvent::Assigned { assignee });
        EntityEvents::init(self.id, std::iter::once(created).chain(assigned))
    }
}

impl Tasks {
    pub fn new(pool: sqlx::PgPool) -> Self {
        Self { pool }
    }
}

pub async fn tasks() -> Tasks {
    Tasks::new(es_entity_tests::pool().await)
}

/// A project name no other test uses.
pub fn project() -> String {
    format!("p-{}", TaskId::new())
}

/// Creates tasks in `project` with these (title, priority) pairs.
pub async fn seed(tasks: &Tasks, project: &str, rows: &[(&str, Option<i32>)]) -> Vec<Task> {
    let mut out = Vec::new();
    for (title, priority) in rows {
        out.push(
            tasks
                .create(NewTask::new(project, title, *priority))
                .await
                .unwrap(),
        );
    }
    out
}

/// Every page of a `list_for_project_by_<col>` listing, concatenated.
async fn all_pages_by_title(
    tasks: &Tasks,
    project: &str,
    first: usize,
    dir: ListDirection,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut args = PaginatedQueryArgs::first(first);
    loop {
        let page = tasks
            .list_for_project_by_title(project.to_owned(), args, dir)
            .await
            .unwrap();
        assert!(page.entities.len() <= first);
        out.extend(page.entities.iter().map(|t| t.title.clone()));
        match page.into_next_query() {
            Some(next) => args = next,
            None => return out,
        }
    }
}

#[tokio::test]
async fn list_by_pages_through_every_row_once_in_both_directions() {
    let tasks = tasks().await;
    let project = project();
    let titles = ["d", "a", "c", "b", "e", "a"];
    seed(&tasks, &project, &titles.map(|t| (t, None))).await;
    let mut expected: Vec<_> = titles.iter().map(|t| t.to_string()).collect();
    expected.sort();
    for first in [1, 2, 4, 6, 10] {
        assert_eq!(
            all_pages_by_title(&tasks, &project, first, ListDirection::Ascending).await,
            expected
        );
        let mut rev = expected.clone();
        rev.reverse();
        assert_eq!(
            all_pages_by_title(&tasks, &project, first, ListDirection::Descending).await,
            rev
        );
    }
}

#[tokio::test]
async fn list_by_created_at_and_id_see_new_tasks_once() -> Result<(), Box<dyn std::error::Error>> {
    let tasks = tasks().await;
    let project = project();
    let created = seed(&tasks, &project, &[("x", None), ("y", None), ("z", None)]).await;
    let wanted: Vec<_> = created.iter().map(|t| t.id).collect();
    // ANCHOR: list_by
    let mut seen = Vec::new();
    let mut args = PaginatedQueryArgs::first(2);
    loop {
        let page = tasks
            .list_by_created_at(args, ListDirection::Descending)
            .await?;
        seen.extend(page.entities.iter().map(|t| t.id));
        // (This test stops as soon as it has seen the tasks it created.)
        if wanted.iter().all(|id| seen.contains(id)) {
            break;
        }
        match page.into_next_query() {
            Some(next) => args = next,
            None => break,
        }
    }
    // ANCHOR_END: list_by
    for id in &wanted {
        assert_eq!(
            seen.iter().filter(|s| *s == id).count(),
            1,
            "each task exactly once"
        );
    }
    // Ids are v7 (time ordered): newest first when listing by id descending.
    let mut by_id = Vec::new();
    let mut args = PaginatedQueryArgs::first(2);
    while !wanted.iter().all(|id| by_id.contains(id)) {
        let page = tasks.list_by_id(args, ListDirection::Descending).await?;
        by_id.extend(page.entities.iter().map(|t| t.id));
        args = page.into_next_query().expect("our tasks are in the table");
    }
    let positions: Vec<_> = wanted
        .iter()
        .map(|id| by_id.iter().position(|s| s == id).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] > w[1]), "{positions:?}");
    Ok(())
}

/// Expected order of a listing: by key (NULLs last ascending), then id.
fn sorted<K: Ord + Clone>(
    tasks: &[&Task],
    key: impl Fn(&Task) -> Option<K>,
    descending: bool,
) -> Vec<TaskId> {
    let mut v: Vec<_> = tasks
        .iter()
        .map(|t| ((key(t).is_none(), key(t)), t.id))
        .collect();
    v.sort();
    if descending {
        v.reverse();
    }
    v.into_iter().map(|(_, id)| id).collect()
}

#[tokio::test]
async fn nullable_column_pages_never_skip_or_repeat_nulls() {
    let tasks = tasks().await;
    let project = project();
    let prios = [Some(2), None, Some(1), None, Some(2), None, Some(-5)];
    let created = seed(&tasks, &project, &prios.map(|p| ("t", p))).await;
    let refs: Vec<_> = created.iter().collect();
    for descending in [false, true] {
        let dir = if descending {
            ListDirection::Descending
        } else {
            ListDirection::Ascending
        };
        let expected = sorted(&refs, |t| t.priority, descending);
        for first in [1, 2, 3, 7, 8] {
            let mut got = Vec::new();
            let mut args = PaginatedQueryArgs::first(first);
            loop {
                let page = tasks
                    .list_for_project_by_priority(&project, args, dir)
                    .await
                    .unwrap();
                got.extend(page.entities.iter().map(|t| t.id));
                match page.into_next_query() {
                    Some(next) => args = next,
                    None => break,
                }
            }
            assert_eq!(got, expected, "first = {first}, {dir:?}");
        }
    }
}

#[tokio::test]
async fn inserts_during_paging_never_cause_skips_or_repeats() {
    let tasks = tasks().await;
    let project = project();
    seed(
        &tasks,
        &project,
        &[("b", None), ("d", None), ("f", None), ("h", None)],
    )
    .await;
    let mut seen = Vec::new();
    let mut args = PaginatedQueryArgs::first(2);
    let mut round = 0;
    loop {
        let page = tasks
            .list_for_project_by_title(&project, args, ListDirection::Ascending)
            .await
            .unwrap();
        seen.extend(page.entities.iter().map(|t| t.title.clone()));
        // Another writer inserts one title before the cursor and one after it.
        round += 1;
        if round <= 2 {
            seed(&tasks, &project, &[("a", None), ("z", None)]).await;
        }
        match page.into_next_query() {
            Some(next) => args = next,
            None => break,
        }
    }
    // Rows before the cursor are not revisited; rows after it show up once, in order.
    assert_eq!(seen, ["b", "d", "f", "h", "z", "z"]);
}

#[tokio::test]
async fn cursors_survive_a_json_round_trip() -> Result<(), Box<dyn std::error::Error>> {
    let tasks = tasks().await;
    let project = project();
    seed(
        &tasks,
        &project,
        &[("a", Some(1)), ("b", None), ("c", Some(3))],
    )
    .await;
    let page = tasks
        .list_for_project_by_priority(
            &project,
            PaginatedQueryArgs::first(1),
            ListDirection::Ascending,
        )
        .await
        .unwrap();
    // ANCHOR: cursor_json
    let cursor = page.end_cursor.expect("a full page has a cursor");
    let token = serde_json::to_string(&cursor)?; // hand this to the client
    let after: TaskByPriorityCursor = serde_json::from_str(&token)?;
    // ANCHOR_END: cursor_json
    let next = tasks
        .list_for_project_by_priority(
            &project,
            PaginatedQueryArgs {
                first: 5,
                after: Some(after),
            },
            ListDirection::Ascending,
        )
        .await
        .unwrap();
    let titles: Vec<_> = next.entities.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles, ["c", "b"]);
    assert!(!next.has_next_page);
    // A token that is not a cursor is a typed error, not a panic.
    assert!(serde_json::from_str::<TaskByPriorityCursor>(r#"{"id":"nope"}"#).is_err());
    assert!(serde_json::from_str::<TaskCursor>(r#"{"ByColour":{}}"#).is_err());
    Ok(())
}

/// Every combination of filters, orders, directions and page sizes returns
/// exactly what filtering and sorting all the rows in Rust returns.
#[tokio::test]
async fn list_for_filters_matches_filtering_in_rust() {
    let tasks = tasks().await;
    let other = project();
    let project = project();
    let rows = [
        ("m", Some(3), Some("ann")),
        ("c", None, Some("bob")),
        ("x", Some(1), None),
        ("a", Some(3), Some("ann")),
        ("k", None, None),
        ("b", Some(-1), Some("bob")),
        ("c", Some(2), Some("ann")),
    ];
    let mut created = Vec::new();
    for (p, (title, prio, who)) in [&project, &other]
        .into_iter()
        .flat_map(|p| rows.iter().map(move |r| (p, r)))
    {
        let mut new = NewTask::new(p, title, *prio);
        new.assignee = who.map(str::to_owned);
        created.push(tasks.create(new).await.unwrap());
    }
    let assignees: [Option<Option<&str>>; 4] =
        [None, Some(None), Some(Some("ann")), Some(Some("bob"))];
    let sorts = [
        TaskSortBy::Id,
        TaskSortBy::CreatedAt,
        TaskSortBy::Title,
        TaskSortBy::Priority,
    ];
    let mut combos = 0;
    for assignee in assignees {
        let matching: Vec<&Task> = created
            .iter()
            .filter(|t| t.project == project)
            .filter(|t| assignee.is_none_or(|a| t.assignee.as_deref() == a))
            .collect();
        for by in sorts {
            for direction in [ListDirection::Ascending, ListDirection::Descending] {
                let desc = direction == ListDirection::Descending;
                let expected = match by {
                    TaskSortBy::Id => sorted(&matching, |t| Some(t.id), desc),
                    TaskSortBy::CreatedAt => {
                        sorted(&matching, |t| t.events().entity_first_persisted_at(), desc)
                    }
                    TaskSortBy::Title => sorted(&matching, |t| Some(t.title.clone()), desc),
                    TaskSortBy::Priority => sorted(&matching, |t| t.priority, desc),
                };
                for first in [1, 2, 3, 10] {
                    let filters = TaskFilters {
                        project: Some(project.clone()),
                        assignee: assignee.map(|a| a.map(str::to_owned)),
                    };
                    let mut got = Vec::new();
                    let mut args = PaginatedQueryArgs::first(first);
                    loop {
                        let page = tasks
                            .list_for_filters(filters.clone(), Sort { by, direction }, args)
                            .await
                            .unwrap();
                        got.extend(page.entities.iter().map(|t| t.id));
                        match page.into_next_query() {
                            Some(next) => args = next,
                            None => break,
                        }
                    }
                    assert_eq!(
                        got, expected,
                        "{assignee:?} {by:?} {direction:?} first={first}"
                    );
                    combos += 1;
                }
            }
        }
    }
    assert_eq!(combos, 4 * 4 * 2 * 4);
}

#[tokio::test]
async fn a_cursor_of_another_order_is_rejected() {
    let tasks = tasks().await;
    let project = project();
    seed(&tasks, &project, &[("a", Some(1)), ("b", Some(2))]).await;
    let filters = TaskFilters {
        project: Some(project.clone()),
        ..Default::default()
    };
    let by_priority = Sort {
        by: TaskSortBy::Priority,
        direction: ListDirection::Ascending,
    };
    let page = tasks
        .list_for_filters(filters.clone(), by_priority, PaginatedQueryArgs::first(1))
        .await
        .unwrap();
    let cursor = page.end_cursor.unwrap();
    assert_eq!(cursor.sort_by(), TaskSortBy::Priority);
    let by_title = Sort {
        by: TaskSortBy::Title,
        direction: ListDirection::Ascending,
    };
    let err = tasks
        .list_for_filters(
            filters,
            by_title,
            PaginatedQueryArgs {
                first: 1,
                after: Some(cursor),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            QueryError::CursorMismatch {
                expected: "title",
                found: "priority"
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "listing Task by title got a cursor for listing by priority"
    );
}

#[tokio::test]
async fn list_for_one_column_by_another() -> Result<(), TaskQueryError> {
    let tasks = tasks().await;
    let project = project();
    let mut created = seed(
        &tasks,
        &project,
        &[("a", Some(2)), ("b", None), ("c", Some(1))],
    )
    .await;
    let ann = format!("ann-{}", TaskId::new());
    for t in &mut created[..2] {
        t.assign(&ann);
        tasks.update(t).await.unwrap();
    }
    // ANCHOR: list_for
    let page = tasks
        .list_for_assignee_by_priority(
            Some(ann.clone()),
            PaginatedQueryArgs::first(10),
            ListDirection::Ascending,
        )
        .await?;
    let titles: Vec<_> = page.entities.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles, ["a", "b"]); // priority 2, then NULL
    // ANCHOR_END: list_for
    let by_created = tasks
        .list_for_assignee_by_created_at(
            Some(ann),
            PaginatedQueryArgs::first(10),
            ListDirection::Descending,
        )
        .await
        .unwrap();
    let titles: Vec<_> = by_created
        .entities
        .iter()
        .map(|t| t.title.as_str())
        .collect();
    assert_eq!(titles, ["b", "a"]);
    Ok(())
}

#[tokio::test]
async fn find_all_loads_many_in_one_call() -> Result<(), Box<dyn std::error::Error>> {
    let tasks = tasks().await;
    let project = project();
    let created = seed(
        &tasks,
        &project,
        &[("a", None), ("b", Some(1)), ("c", None)],
    )
    .await;
    let ids: Vec<TaskId> = created
        .iter()
        .map(|t| t.id)
        .chain([TaskId::new()])
        .collect();
    // ANCHOR: find_all
    let found: HashMap<TaskId, Task> = tasks.find_all(&ids).await?;
    // ANCHOR_END: find_all
    assert_eq!(found.len(), 3, "the unknown id is simply absent");
    for t in &created {
        assert_eq!(found[&t.id].title, t.title);
    }
    let none: HashMap<TaskId, Task> = tasks.find_all(&[]).await?;
    assert!(none.is_empty());
    // Any `From<Task>` works as the map's value.
    struct Title(String);
    impl From<Task> for Title {
        fn from(t: Task) -> Self {
            Title(t.title)
        }
    }
    let titles: HashMap<TaskId, Title> = tasks.find_all(&ids[..1]).await?;
    assert_eq!(titles[&ids[0]].0, "a");
    Ok(())
}

#[tokio::test]
async fn soft_deleted_tasks_are_hidden_unless_asked_for() -> Result<(), Box<dyn std::error::Error>>
{
    let tasks = tasks().await;
    let project = project();
    let created = seed(&tasks, &project, &[("keep", None), ("drop", None)]).await;
    let (keep, drop_id) = (created[0].id, created[1].id);
    let stale = tasks.find_by_id(drop_id).await?;
    // ANCHOR: delete
    let mut task = tasks.find_by_id(drop_id).await?;
    task.delete(); // stages a `Deleted` event
    tasks.delete(task).await?;

    assert!(tasks.find_by_id(drop_id).await.unwrap_err().was_not_found());
    let deleted = tasks.find_by_id_include_deleted(drop_id).await?;
    assert!(matches!(
        deleted.events().iter_all().last(),
        Some(TaskEvent::Deleted)
    ));
    // ANCHOR_END: delete
    assert_eq!(deleted.events().len_persisted(), 2);

    let args = || PaginatedQueryArgs::<TaskByTitleCursor>::first(10);
    let listed = tasks
        .list_for_project_by_title(&project, args(), ListDirection::Ascending)
        .await?;
    assert_eq!(
        listed.entities.iter().map(|t| t.id).collect::<Vec<_>>(),
        [keep]
    );
    let all = tasks
        .list_for_project_by_title_include_deleted(&project, args(), ListDirection::Ascending)
        .await?;
    assert_eq!(all.entities.len(), 2);
    let found: HashMap<TaskId, Task> = tasks.find_all(&[keep, drop_id]).await?;
    assert!(found.contains_key(&keep) && !found.contains_key(&drop_id));
    let found: HashMap<TaskId, Task> = tasks.find_all_include_deleted(&[keep, drop_id]).await?;
    assert_eq!(found.len(), 2);
    let filters = TaskFilters {
        project: Some(project.clone()),
        ..Default::default()
    };
    let sort = Sort {
        by: TaskSortBy::Title,
        direction: ListDirection::Ascending,
    };
    let page = tasks
        .list_for_filters(filters.clone(), sort, PaginatedQueryArgs::first(10))
        .await?;
    assert_eq!(page.entities.len(), 1);
    let page = tasks
        .list_for_filters_include_deleted(filters, sort, PaginatedQueryArgs::first(10))
        .await?;
    assert_eq!(page.entities.len(), 2);

    // Deleting through a stale copy loses the race like any update.
    let mut stale = stale;
    stale.delete();
    let err = tasks.delete(stale).await.unwrap_err();
    assert!(err.is_concurrent_modification(), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn list_for_filters_example() -> Result<(), TaskQueryError> {
    let tasks = tasks().await;
    let project = project();
    seed(
        &tasks,
        &project,
        &[("b", Some(1)), ("a", Some(2)), ("c", None)],
    )
    .await;
    // ANCHOR: list_for_filters
    let filters = TaskFilters {
        project: Some(project.clone()),
        ..Default::default()
    };
    let sort = Sort {
        by: TaskSortBy::Title,
        direction: ListDirection::Descending,
    };
    let page = tasks
        .list_for_filters(filters.clone(), sort, PaginatedQueryArgs::first(2))
        .await?;
    assert_eq!(
        page.entities
            .iter()
            .map(|t| t.title.as_str())
            .collect::<Vec<_>>(),
        ["c", "b"]
    );

    // The cursor is a `TaskCursor`; it only continues a listing in the same order.
    let next = page.into_next_query().expect("one more task");
    let page = tasks.list_for_filters(filters, sort, next).await?;
    assert_eq!(page.entities[0].title, "a");
    assert!(!page.has_next_page);
    // ANCHOR_END: list_for_filters
    Ok(())
}
