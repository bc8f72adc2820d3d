//! Conflicts, duplicates, foreign keys and checks are classified the same
//! whatever language the server speaks: every test here runs on connections
//! whose `lc_messages` is German, so each message and detail PostgreSQL sends
//! is translated. `Badge`'s constraints are all named by hand, so only the
//! catalog can tell what they cover.
//!
//! The locale must exist on the server's machine (Debian: `locales-all`,
//! which `.ci/run` installs). In CI a missing locale fails these tests;
//! elsewhere they say so on stderr and stop early.

use es_entity::*;
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection, PgPool};

use crate::repo_fixtures::*;

const LOCALE: &str = "de_DE.UTF-8";

/// A pool whose connections get German messages, or `None` outside CI when
/// the server cannot use the locale.
async fn german_pool() -> Option<PgPool> {
    es_entity_tests::pool().await; // the database exists and is migrated
    let options: PgConnectOptions = es_entity_tests::database_url().parse().unwrap();
    let set = format!("SET lc_messages = '{LOCALE}'");
    let mut probe = PgConnection::connect_with(&options).await.unwrap();
    if let Err(e) = probe.execute(sqlx::AssertSqlSafe(set.clone())).await {
        let why = format!(
            "PostgreSQL cannot use the locale {LOCALE} ({e}); install it where the server \
             runs (Debian: apt-get install locales-all)"
        );
        if std::env::var_os("CI").is_some() {
            panic!("{why}");
        }
        eprintln!("conflicts_any_language: not run: {why}");
        return None;
    }
    let pool = PgPoolOptions::new()
        .max_connections(3)
        .after_connect(move |conn, _| {
            let set = set.clone();
            Box::pin(async move {
                conn.execute(sqlx::AssertSqlSafe(set)).await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .unwrap();
    // The messages really are translated (the server has the catalogs).
    let err = sqlx::query("SELECT 1 / 0")
        .execute(&pool)
        .await
        .unwrap_err();
    let message = err.as_database_error().unwrap().message().to_owned();
    assert_eq!(message, "Division durch Null", "lc_messages had no effect");
    Some(pool)
}

// ---------------------------------------------------------------------------
// Badge: `badges` / `badge_events`, every constraint named by hand.

entity_id! { BadgeId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "BadgeId")]
pub enum BadgeEvent {
    Awarded {
        code: String,
        label: String,
        points: i32,
        holder_id: Option<MemberId>,
    },
    Scored {
        points: i32,
    },
}

#[derive(EsEntity, Debug)]
pub struct Badge {
    pub id: BadgeId,
    pub code: String,
    pub label: String,
    pub points: i32,
    pub holder_id: Option<MemberId>,
    events: EntityEvents<BadgeEvent>,
}

impl Badge {
    pub(crate) fn score(&mut self, points: i32) {
        self.points = points;
        self.events.push(BadgeEvent::Scored { points });
    }
}

impl TryFromEvents<BadgeEvent> for Badge {
    fn try_from_events(events: EntityEvents<BadgeEvent>) -> Result<Self, EntityHydrationError> {
        let mut badge = None;
        for event in events.iter_all() {
            match event {
                BadgeEvent::Awarded {
                    code,
                    label,
                    points,
                    holder_id,
                } => badge = Some((code.clone(), label.clone(), *points, *holder_id)),
                BadgeEvent::Scored { points } => {
                    if let Some(b) = badge.as_mut() {
                        b.2 = *points;
                    }
                }
            }
        }
        let (code, label, points, holder_id) = badge.ok_or_else(|| events.missing_field("code"))?;
        Ok(Badge {
            id: *events.id(),
            code,
            label,
            points,
            holder_id,
            events,
        })
    }
}

pub struct NewBadge {
    id: BadgeId,
    code: String,
    label: String,
    points: i32,
    holder_id: Option<MemberId>,
}

impl NewBadge {
    pub(crate) fn fresh() -> Self {
        Self {
            id: BadgeId::new(),
            code: unique("code"),
            label: unique("Label"),
            points: 10,
            holder_id: None,
        }
    }
}

impl IntoEvents<BadgeEvent> for NewBadge {
    fn into_events(self) -> EntityEvents<BadgeEvent> {
        EntityEvents::init(
            self.id,
            [BadgeEvent::Awarded {
                code: self.code,
                label: self.label,
                points: self.points,
                holder_id: self.holder_id,
            }],
        )
    }
}

#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Badge",
    columns(
        code = "String",
        label = "String",
        points(ty = "i32", find_by = false),
        holder_id = "Option<MemberId>"
    )
)]
pub struct Badges {
    pub(crate) pool: PgPool,
}

/// The same table with `label` declared nullable: a NULL reaches the NOT
/// NULL column, and the error names it from PostgreSQL's column field.
pub(crate) mod unlabelled {
    use super::*;

    #[derive(EsRepo, Debug)]
    #[es_repo(
        entity = "Badge",
        columns(
            code(ty = "String", find_by = false),
            points(ty = "i32", find_by = false),
            label(
                ty = "Option<String>",
                find_by = false,
                create(accessor = "no_label()"),
                update(persist = false)
            )
        )
    )]
    pub struct UnlabelledBadges {
        pub pool: PgPool,
    }
}

impl NewBadge {
    fn no_label(&self) -> Option<String> {
        None
    }
}

// ---------------------------------------------------------------------------

#[tokio::test]
async fn stale_writers_get_concurrent_modification() {
    let Some(pool) = german_pool().await else {
        return;
    };

    // Default constraint names (`tally_events_id_sequence_key`).
    let tallies = Tallies::new(&pool);
    let created = tallies.create(NewTally::fresh(vec![])).await.unwrap();
    let mut first = tallies.find_by_id(created.id).await.unwrap();
    let mut stale = tallies.find_by_id(created.id).await.unwrap();
    first.count(1);
    tallies.update(&mut first).await.unwrap();
    stale.count(2);
    let err = tallies.update(&mut stale).await.unwrap_err();
    assert!(err.is_concurrent_modification(), "{err:?}");
    assert!(
        matches!(err, ModifyError::ConcurrentModification { entity_id, expected_sequence: 2, .. } if entity_id == created.id),
        "{err:?}"
    );

    // update_all names the stale entity of the batch.
    let fresh = tallies.create(NewTally::fresh(vec![])).await.unwrap();
    let mut batch = vec![
        tallies.find_by_id(fresh.id).await.unwrap(),
        tallies.find_by_id(created.id).await.unwrap(),
    ];
    let mut winner = tallies.find_by_id(created.id).await.unwrap();
    winner.count(3);
    tallies.update(&mut winner).await.unwrap();
    batch[0].count(4);
    batch[1].count(5);
    let err = tallies.update_all(&mut batch).await.unwrap_err();
    assert!(
        matches!(err, ModifyError::ConcurrentModification { entity_id, expected_sequence: 3, .. } if entity_id == created.id),
        "{err:?}"
    );
    assert_eq!(
        stored_sequences(&pool, "tally_events", fresh.id).await,
        [1],
        "all or nothing"
    );

    // A hand-named (id, sequence) key (`badge_event_version`).
    let badges = Badges { pool: pool.clone() };
    let badge = badges.create(NewBadge::fresh()).await.unwrap();
    let mut first = badges.find_by_id(badge.id).await.unwrap();
    let mut stale = badges.find_by_id(badge.id).await.unwrap();
    first.score(11);
    badges.update(&mut first).await.unwrap();
    stale.score(12);
    let err = badges.update(&mut stale).await.unwrap_err();
    assert!(err.was_concurrent_modification(), "{err:?}");
    let mut stale = vec![stale];
    let err = badges.update_all(&mut stale).await.unwrap_err();
    assert!(
        matches!(err, ModifyError::ConcurrentModification { entity_id, .. } if entity_id == badge.id),
        "{err:?}"
    );
}

#[tokio::test]
async fn constraint_violations_name_their_column() {
    let Some(pool) = german_pool().await else {
        return;
    };

    // Default names: members_email_key, members_pkey, members_credit_limit_check.
    let members = Members::new(&pool);
    let taken = NewMember::fresh();
    let key = taken.email_key();
    let taken = members.create(taken).await.unwrap();
    let mut dup = NewMember::fresh();
    dup.email = key.clone();
    let err = members.create(dup).await.unwrap_err();
    assert!(err.was_duplicate_by(MemberColumn::Email), "{err:?}");
    assert_eq!(
        err.duplicate_value(),
        Some(key.as_str()),
        "read from the German detail"
    );
    let mut again = NewMember::fresh();
    again.id = taken.id;
    let err = members.create(again).await.unwrap_err();
    assert!(err.was_duplicate_by(MemberColumn::Id), "{err:?}");
    let mut broke = NewMember::fresh();
    broke.credit_limit = -1;
    let err = members.create(broke).await.unwrap_err();
    assert!(err.was_check_violation(), "{err:?}");
    assert_eq!(
        err.constraint_violation().and_then(|v| v.column),
        Some(MemberColumn::CreditLimit)
    );

    // Hand-named constraints, on create and on update.
    let badges = Badges { pool: pool.clone() };
    let first = badges.create(NewBadge::fresh()).await.unwrap();

    let mut same_code = NewBadge::fresh();
    same_code.code = first.code.clone();
    let err = badges.create(same_code).await.unwrap_err();
    assert!(err.was_duplicate_by(BadgeColumn::Code), "{err:?}");
    assert_eq!(err.constraint_name(), Some("badge_code_taken"));
    assert_eq!(err.duplicate_value(), Some(first.code.as_str()));

    // A unique index on lower(label): a duplicate, on no single column.
    let mut same_label = NewBadge::fresh();
    same_label.label = first.label.to_uppercase();
    let err = badges.create(same_label).await.unwrap_err();
    assert!(err.was_duplicate(), "{err:?}");
    assert_eq!(err.constraint_name(), Some("badge_label_any_case"));
    assert_eq!(err.constraint_violation().and_then(|v| v.column), None);

    let mut no_member = NewBadge::fresh();
    let missing = MemberId::new();
    no_member.holder_id = Some(missing);
    let err = badges.create(no_member).await.unwrap_err();
    assert!(err.was_foreign_key_violation(), "{err:?}");
    let violation = err.constraint_violation().unwrap();
    assert_eq!(violation.column, Some(BadgeColumn::HolderId));
    assert_eq!(
        violation.value.as_deref(),
        Some(missing.to_string().as_str())
    );

    let mut badge = badges.find_by_id(first.id).await.unwrap();
    badge.score(-5);
    let err = badges.update(&mut badge).await.unwrap_err();
    assert!(err.was_check_violation(), "{err:?}");
    assert!(!err.was_concurrent_modification());
    assert_eq!(
        err.constraint_violation().and_then(|v| v.column),
        Some(BadgeColumn::Points)
    );
    assert_eq!(err.constraint_name(), Some("badge_points_not_negative"));

    // NOT NULL: PostgreSQL names the column itself.
    let unlabelled = unlabelled::UnlabelledBadges { pool: pool.clone() };
    let err = unlabelled.create(NewBadge::fresh()).await.unwrap_err();
    let violation = err
        .constraint_violation()
        .unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(violation.kind, ConstraintKind::NotNull);
    assert_eq!(violation.column, Some(unlabelled::BadgeColumn::Label));
    assert!(err.to_string().contains("column label"), "{err}");
}

#[tokio::test]
async fn update_all_names_a_missing_row() {
    let Some(pool) = german_pool().await else {
        return;
    };
    let tallies = Tallies::new(&pool);
    let kept = tallies.create(NewTally::fresh(vec![])).await.unwrap();
    let gone = tallies.create(NewTally::fresh(vec![])).await.unwrap();
    let mut batch = vec![
        tallies.find_by_id(kept.id).await.unwrap(),
        tallies.find_by_id(gone.id).await.unwrap(),
    ];
    sqlx::query("DELETE FROM tally_events WHERE id = $1")
        .bind(gone.id)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM tallies WHERE id = $1")
        .bind(gone.id)
        .execute(&pool)
        .await
        .unwrap();
    batch[0].count(1);
    batch[1].count(1);
    let err = tallies.update_all(&mut batch).await.unwrap_err();
    assert!(
        matches!(err, ModifyError::EntityNotFound { entity_id } if entity_id == gone.id),
        "{err:?}"
    );
}
