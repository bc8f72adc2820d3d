//! The derives must not depend on what the user's module names: generated
//! code uses absolute paths only. This module shadows the prelude and the
//! crate names and still derives an event, an entity and a repository.
//!
//! `mod sqlx {}` is not shadowed: sqlx 0.9's own `query!` expansion names
//! `sqlx::postgres` and `sqlx::types` by relative path, which a local `sqlx`
//! module breaks whoever calls the macro. Likewise `String`: sqlx writes the
//! Rust type of a `VARCHAR` column as a bare `String`.
#![deny(warnings)]
#![allow(dead_code)]

struct Result;
struct Option;
struct Ok;
struct Err;
struct Some;
struct None;
struct Vec;
mod es_entity {}
mod serde {}

::es_entity::entity_id! { UserId }

#[derive(::es_entity::EsEvent, Debug, Clone, ::serde::Serialize, ::serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "UserId")]
pub enum UserEvent {
    Initialized {
        id: UserId,
        name: std::string::String,
    },
    NameUpdated {
        name: std::string::String,
    },
}

#[derive(::es_entity::EsEntity)]
pub struct User {
    id: UserId,
    name: std::string::String,
    events: ::es_entity::EntityEvents<UserEvent>,
}

impl ::es_entity::TryFromEvents<UserEvent> for User {
    fn try_from_events(
        events: ::es_entity::EntityEvents<UserEvent>,
    ) -> std::result::Result<Self, ::es_entity::EntityHydrationError> {
        let name = events
            .iter_all()
            .map(|e| match e {
                UserEvent::Initialized { name, .. } | UserEvent::NameUpdated { name } => name,
            })
            .next_back()
            .cloned()
            .ok_or_else(|| events.missing_field("name"))?;
        std::result::Result::Ok(User {
            id: *events.id(),
            name,
            events,
        })
    }
}

pub struct NewUser {
    pub(crate) id: UserId,
    pub(crate) name: std::string::String,
}

impl ::es_entity::IntoEvents<UserEvent> for NewUser {
    fn into_events(self) -> ::es_entity::EntityEvents<UserEvent> {
        ::es_entity::EntityEvents::init(
            self.id,
            [UserEvent::Initialized {
                id: self.id,
                name: self.name,
            }],
        )
    }
}

#[derive(::es_entity::EsRepo)]
#[es_repo(entity = "User", columns(name = "std::string::String"))]
pub struct Users {
    pub(crate) pool: ::sqlx::PgPool,
}

#[tokio::test]
async fn derives_work_with_shadowed_names() {
    let users = Users {
        pool: es_entity_tests::pool().await,
    };
    let name = format!("hygiene-{}", UserId::new());
    let id = UserId::new();
    let user = users
        .create(NewUser {
            id,
            name: name.clone(),
        })
        .await
        .unwrap();
    assert_eq!(user.id, id);
    assert_eq!(users.find_by_name(&name).await.unwrap().id, id);
}

/// `feed` under the same shadowing (brought in by the glob import), over
/// tables that have the feed columns, in a module of its own because it
/// derives a second repository of `User`.
pub(crate) mod feed {
    use super::*;

    #[derive(::es_entity::EsRepo)]
    #[es_repo(
        entity = "User",
        tbl = "ledger_accounts",
        events_tbl = "ledger_account_events",
        columns(name = "std::string::String"),
        feed
    )]
    pub struct UserFeed {
        pub(crate) pool: ::sqlx::PgPool,
    }

    #[tokio::test]
    async fn the_feed_works_with_shadowed_names() {
        let feed = UserFeed {
            pool: es_entity_tests::pool().await,
        };
        // Nothing is decoded: the tables hold other entities' events.
        let batch = feed
            .feed_after(::core::option::Option::None, 0)
            .await
            .unwrap();
        assert!(batch.events.is_empty());
        assert!(batch.horizon > 0);
    }
}

/// `post_persist_hook` under the same shadowing: the generated calls of the
/// hook, its transaction and its error use absolute paths too.
pub(crate) mod hooked {
    use super::*;

    #[derive(::es_entity::EsRepo)]
    #[es_repo(
        entity = "User",
        columns(name = "std::string::String"),
        post_persist_hook = "after_write"
    )]
    pub struct HookedUsers {
        pub(crate) pool: ::sqlx::PgPool,
    }

    impl HookedUsers {
        async fn after_write(
            &self,
            op: &mut impl ::es_entity::AtomicOperation,
            user: &User,
            new_events: ::es_entity::LastPersisted<'_, UserEvent>,
        ) -> std::result::Result<(), ::sqlx::Error> {
            let last = new_events.as_slice().last().map(|p| p.sequence);
            assert_eq!(last, std::option::Option::Some(user.events.len_persisted()));
            ::sqlx::query("SELECT 1")
                .execute(::es_entity::AtomicOperation::as_executor(op))
                .await
                .map(drop)
        }
    }

    #[tokio::test]
    async fn the_hook_works_with_shadowed_names() {
        let users = HookedUsers {
            pool: es_entity_tests::pool().await,
        };
        let id = UserId::new();
        let mut user = users
            .create(NewUser {
                id,
                name: format!("hooked-{id}"),
            })
            .await
            .unwrap();
        user.events.push(UserEvent::NameUpdated {
            name: format!("hooked-again-{id}"),
        });
        assert_eq!(users.update(&mut user).await.unwrap(), 1);
        let mut all = [user];
        assert_eq!(users.update_all(&mut all).await.unwrap(), 0);
    }
}
