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
        EntityEvents::init(
            self.id,
            [TaskEvent::Created {
                title: self.title,
                project: self.project,
                priority: self.priority,
            }],
        )
    }
}

pub async fn tasks() -> Tasks {
    Tasks {
        pool: es_entity_tests::pool().await,
    }
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
