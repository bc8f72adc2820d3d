//! `create_or_find`: created once, found by id or by a `unique` column,
//! 16 concurrent racers for one key get one `Created` and fifteen `Found`s
//! of the same entity, keys held by two entities are an error naming both,
//! a soft-deleted holder is an error, statements counted.

use std::collections::HashSet;
use std::sync::Arc;

use es_entity::*;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::repo_fixtures::unique;
use crate::repo_round_trips::counting;

entity_id! { HandleId }

#[derive(EsEvent, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "HandleId")]
pub enum HandleEvent {
    Claimed {
        handle: String,
        email: Option<String>,
    },
}

#[derive(EsEntity, Debug)]
pub struct Handle {
    pub id: HandleId,
    pub handle: String,
    pub email: Option<String>,
    events: EntityEvents<HandleEvent>,
}

impl TryFromEvents<HandleEvent> for Handle {
    fn try_from_events(events: EntityEvents<HandleEvent>) -> Result<Self, EntityHydrationError> {
        let Some(HandleEvent::Claimed { handle, email }) = events.iter_all().next().cloned() else {
            return Err(events.missing_field("handle"));
        };
        Ok(Handle {
            id: *events.id(),
            handle,
            email,
            events,
        })
    }
}

// ANCHOR: repo
#[derive(Debug)]
pub struct NewHandle {
    pub id: HandleId,
    pub handle: String,
    pub email: Option<String>,
}

impl IntoEvents<HandleEvent> for NewHandle {
    fn into_events(self) -> EntityEvents<HandleEvent> {
        let claimed = HandleEvent::Claimed {
            handle: self.handle,
            email: self.email,
        };
        EntityEvents::init(self.id, [claimed])
    }
}

/// `handle` and `email` are keys: `create_or_find` looks them up.
#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Handle",
    delete = "soft",
    columns(handle(ty = "String", unique), email(ty = "Option<String>", unique),)
)]
pub struct Handles {
    pool: PgPool,
}
// ANCHOR_END: repo

impl Handles {
    pub fn new(pool: &PgPool) -> Self {
        Self { pool: pool.clone() }
    }
}

fn new_handle(handle: &str, email: Option<&str>) -> NewHandle {
    NewHandle {
        id: HandleId::new(),
        handle: handle.to_owned(),
        email: email.map(str::to_owned),
    }
}

#[tokio::test]
async fn created_then_found_by_id_or_by_a_unique_column() -> Result<(), crate::feed::BoxError> {
    let pool = es_entity_tests::pool().await;
    let handles = Handles::new(&pool);
    // ANCHOR: use
    let name = unique("ada");
    let first = handles.create_or_find(new_handle(&name, None)).await?;
    assert!(first.was_created());
    let id = first.entity().id;

    // Another id, the same handle: the existing entity, nothing stored.
    let again = handles.create_or_find(new_handle(&name, None)).await?;
    assert!(matches!(&again, CreateOrFind::Found(h) if h.id == id));
    // ANCHOR_END: use

    // The same id, other (free) values: found by the id.
    let same_id = NewHandle {
        id,
        handle: unique("other"),
        email: Some(unique("free")),
    };
    let by_id = handles.create_or_find(same_id).await?;
    assert!(matches!(&by_id, CreateOrFind::Found(h) if h.id == id && h.handle == name));

    // Found by the email alone.
    let mail = unique("mail");
    let with_mail = handles
        .create_or_find(new_handle(&unique("b"), Some(&mail)))
        .await?
        .into_entity();
    let by_mail = handles
        .create_or_find(new_handle(&unique("c"), Some(&mail)))
        .await?;
    assert!(matches!(&by_mail, CreateOrFind::Found(h) if h.id == with_mail.id));

    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM handles WHERE handle = $1")
        .bind(&name)
        .fetch_one(&pool)
        .await?;
    assert_eq!(stored, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_racers_one_created_the_rest_found() {
    let pool = es_entity_tests::pool_with_size(20).await;
    let handles = Arc::new(Handles::new(&pool));
    let name = unique("race");
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let racers: Vec<_> = (0..16)
        .map(|_| {
            let handles = handles.clone();
            let barrier = barrier.clone();
            let name = name.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                handles.create_or_find(new_handle(&name, None)).await
            })
        })
        .collect();
    let mut created = 0;
    let mut ids = HashSet::new();
    for racer in racers {
        let outcome = racer.await.unwrap().expect("no racer fails");
        created += usize::from(outcome.was_created());
        ids.insert(outcome.entity().id);
    }
    assert_eq!(created, 1, "exactly one racer creates");
    assert_eq!(ids.len(), 1, "every racer has the same entity");
}

#[tokio::test]
async fn keys_held_by_two_entities_or_a_deleted_one_are_errors() {
    let pool = es_entity_tests::pool().await;
    let handles = Handles::new(&pool);
    let (h, m) = (unique("h"), unique("m"));
    let a = handles
        .create_or_find(new_handle(&h, None))
        .await
        .unwrap()
        .into_entity();
    let b = handles
        .create_or_find(new_handle(&unique("other"), Some(&m)))
        .await
        .unwrap()
        .into_entity();

    let err = handles
        .create_or_find(new_handle(&h, Some(&m)))
        .await
        .unwrap_err();
    match &err {
        CreateError::KeysSpanEntities { entity_ids } => {
            let mut want = vec![a.id.to_string(), b.id.to_string()];
            want.sort();
            let mut got = entity_ids.clone();
            got.sort();
            assert_eq!(got, want);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains(&a.id.to_string()), "{err}");

    let a_id = a.id.to_string();
    handles.delete(a).await.unwrap();
    let err = handles
        .create_or_find(new_handle(&h, None))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CreateError::KeyHeldByDeleted { entity_id } if *entity_id == a_id),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_conflict_no_unique_column_names_is_the_plain_duplicate_error() {
    // `handle` is unique in the table; a repository that does not declare it
    // cannot look it up, and gets the create's own duplicate error.
    #[derive(EsRepo, Debug)]
    #[es_repo(
        entity = "Handle",
        tbl = "handles",
        events_tbl = "handle_events",
        delete = "soft",
        columns(handle = "String", email = "Option<String>")
    )]
    struct Undeclared {
        pool: PgPool,
    }
    let pool = es_entity_tests::pool().await;
    // Its schema fits the migrations too: a key it does not declare is an extra.
    es_entity::schema::assert_no_drift(&pool, &[Undeclared::schema()]).await;
    let name = unique("plain");
    let handles = Handles::new(&pool);
    assert!(
        handles
            .create_or_find(new_handle(&name, None))
            .await
            .unwrap()
            .was_created()
    );
    let undeclared = Undeclared { pool: pool.clone() };
    let err = undeclared
        .create_or_find(new_handle(&name, None))
        .await
        .unwrap_err();
    assert!(err.was_duplicate(), "{err:?}");
    // Inside a transaction the failure stays in a savepoint.
    let mut op = undeclared.begin_op().await.unwrap();
    assert!(
        undeclared
            .create_or_find_in_op(&mut op, new_handle(&name, None))
            .await
            .is_err()
    );
    let fresh = undeclared
        .create_or_find_in_op(&mut op, new_handle(&unique("fresh"), None))
        .await
        .unwrap();
    assert!(fresh.was_created());
    op.commit().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn statements_one_to_create_three_to_find() {
    counting(|pool, counter| async move {
        let handles = Handles::new(&pool);
        handles.check_column_types().await.unwrap();
        counter.take();
        let name = unique("count");
        let created = handles.create_or_find(new_handle(&name, None)).await;
        assert!(created.unwrap().was_created());
        assert_eq!(counter.take().len(), 1, "created: one statement");
        let found = handles.create_or_find(new_handle(&name, None)).await;
        assert!(!found.unwrap().was_created());
        let found = counter.take();
        assert_eq!(found.len(), 3, "found: {found:#?}");
    })
    .await;
}
