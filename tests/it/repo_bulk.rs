//! `update_all` rewrites only the index rows whose columns change; every row
//! of the batch is still locked and checked, and every event is appended.

use es_entity::*;
use sqlx::PgPool;
use uuid::Uuid;

use crate::repo_fixtures::{
    Member, MemberId, Members, Memo, MemoId, Memos, NewMember, NewMemo, unique,
};

entity_id! { GaugeId }

#[derive(EsEvent, Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "GaugeId")]
pub enum GaugeEvent {
    Installed { reading: f64, label: String },
    Read { reading: f64 },
    Relabelled { label: String },
}

#[derive(EsEntity, Debug)]
pub struct Gauge {
    pub id: GaugeId,
    pub reading: f64,
    pub label: String,
    events: EntityEvents<GaugeEvent>,
}

impl Gauge {
    pub(crate) fn read(&mut self, reading: f64) {
        self.reading = reading;
        self.events.push(GaugeEvent::Read { reading });
    }

    pub(crate) fn relabel(&mut self, label: &str) {
        self.label = label.to_owned();
        self.events.push(GaugeEvent::Relabelled {
            label: label.to_owned(),
        });
    }
}

impl TryFromEvents<GaugeEvent> for Gauge {
    fn try_from_events(events: EntityEvents<GaugeEvent>) -> Result<Self, EntityHydrationError> {
        let (mut reading, mut label) = (None, None);
        for event in events.iter_all() {
            match event {
                GaugeEvent::Installed {
                    reading: r,
                    label: l,
                } => {
                    reading = Some(*r);
                    label = Some(l.clone());
                }
                GaugeEvent::Read { reading: r } => reading = Some(*r),
                GaugeEvent::Relabelled { label: l } => label = Some(l.clone()),
            }
        }
        Ok(Gauge {
            id: *events.id(),
            reading: reading.ok_or_else(|| events.missing_field("reading"))?,
            label: label.ok_or_else(|| events.missing_field("label"))?,
            events,
        })
    }
}

pub struct NewGauge {
    id: GaugeId,
    reading: f64,
    label: String,
    /// Emit no event at all (a mistake `create` must refuse).
    silent: bool,
}

impl IntoEvents<GaugeEvent> for NewGauge {
    fn into_events(self) -> EntityEvents<GaugeEvent> {
        let events = if self.silent {
            vec![]
        } else {
            vec![GaugeEvent::Installed {
                reading: self.reading,
                label: self.label,
            }]
        };
        EntityEvents::init(self.id, events)
    }
}

#[derive(EsRepo, Debug)]
#[es_repo(entity = "Gauge", columns(reading = "f64", label = "String"))]
pub struct Gauges {
    pub(crate) pool: PgPool,
}

pub(crate) fn new_gauge(reading: f64) -> NewGauge {
    NewGauge {
        id: GaugeId::new(),
        reading,
        label: unique("Gauge"),
        silent: false,
    }
}

/// The transaction that last wrote the row, and the row's columns.
async fn row(pool: &PgPool, id: MemberId) -> (String, Option<String>, i64, String) {
    sqlx::query_as("SELECT xmin::TEXT, nickname, credit_limit, region FROM members WHERE id = $1")
        .bind(Uuid::from(id))
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn members_with_nickname(members: &Members, n: usize) -> Vec<Member> {
    let mut created = Vec::new();
    for i in 0..n {
        let mut new = NewMember::fresh();
        if i % 2 == 1 {
            new.nickname = Some(unique("nick"));
        }
        created.push(members.create(new).await.unwrap());
    }
    created
}

#[tokio::test]
async fn update_all_rewrites_only_changed_index_rows() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let mut batch = members_with_nickname(&members, 6).await;
    let mut before = Vec::new();
    for m in &batch {
        before.push(row(&pool, m.id).await);
    }

    batch[0].note("an event that changes no column");
    batch[1].change_nickname(None); // Some -> NULL
    batch[2].change_nickname(Some(&unique("new-nick"))); // NULL -> Some
    batch[3].change_credit_limit(250);
    let same_region = batch[4].region.clone();
    batch[4].change_region(&same_region); // an event, but the same value
    // batch[5] has no new event: not part of the write at all.

    assert_eq!(members.update_all(&mut batch).await.unwrap(), 5);

    let after: Vec<_> = {
        let mut rows = Vec::new();
        for m in &batch {
            rows.push(row(&pool, m.id).await);
        }
        rows
    };
    for i in [0, 4, 5] {
        assert_eq!(
            after[i], before[i],
            "row {i} left alone (same xmin, same values)"
        );
    }
    for i in [1, 2, 3] {
        assert_ne!(after[i].0, before[i].0, "row {i} rewritten");
    }
    assert_eq!(after[1].1, None);
    assert_eq!(after[2].1, batch[2].nickname);
    assert_eq!(after[3].2, 250);

    // Every event was appended, in order, whether the row changed or not.
    for m in &batch {
        let stored = members.find_by_id(m.id).await.unwrap();
        assert_eq!(stored.events().len_persisted(), m.events().len_persisted());
        assert_eq!(stored.nickname, m.nickname);
        assert_eq!(stored.credit_limit, m.credit_limit);
    }
    assert_eq!(batch[0].events().len_persisted(), 2);
}

#[tokio::test]
async fn unchanged_rows_still_conflict_and_still_must_exist() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let created = members_with_nickname(&members, 3).await;

    // A stale copy whose new event changes no column still loses the race.
    let mut stale = members.find_by_id(created[0].id).await.unwrap();
    let mut other = members.find_by_id(created[0].id).await.unwrap();
    other.note("first");
    members.update(&mut other).await.unwrap();
    stale.note("second");
    let mut batch = vec![stale];
    let err = members.update_all(&mut batch).await.unwrap_err();
    assert!(
        matches!(&err, ModifyError::ConcurrentModification { entity_id, expected_sequence: 2, .. } if *entity_id == created[0].id),
        "{err:?}"
    );

    // A vanished index row is named even when no row of the batch changes.
    let mut batch = vec![
        members.find_by_id(created[1].id).await.unwrap(),
        members.find_by_id(created[2].id).await.unwrap(),
    ];
    let gone = Uuid::from(created[2].id);
    sqlx::query("DELETE FROM member_events WHERE id = $1")
        .bind(gone)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM members WHERE id = $1")
        .bind(gone)
        .execute(&pool)
        .await
        .unwrap();
    for m in &mut batch {
        m.note("no column changes");
    }
    let err = members.update_all(&mut batch).await.unwrap_err();
    assert!(
        matches!(&err, ModifyError::EntityNotFound { entity_id } if *entity_id == created[2].id),
        "{err:?}"
    );
    let kept = members.find_by_id(created[1].id).await.unwrap();
    assert_eq!(
        kept.events().len_persisted(),
        1,
        "nothing of the batch stored"
    );
}

#[tokio::test]
async fn the_same_entity_twice_in_a_batch_is_named_and_nothing_is_stored() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let created = members_with_nickname(&members, 2).await;
    let mut batch = vec![
        members.find_by_id(created[0].id).await.unwrap(),
        members.find_by_id(created[1].id).await.unwrap(),
        members.find_by_id(created[1].id).await.unwrap(),
    ];
    batch[0].note("first");
    batch[1].note("one copy");
    batch[2].change_credit_limit(7);

    let err = members.update_all(&mut batch).await.unwrap_err();
    assert!(
        matches!(&err, ModifyError::DuplicateEntity { entity_id } if *entity_id == created[1].id),
        "{err:?}"
    );
    assert!(!err.is_concurrent_modification(), "not worth retrying");
    assert!(err.to_string().contains("more than once"), "{err}");
    for m in &created {
        let stored = members.find_by_id(m.id).await.unwrap();
        assert_eq!(stored.events().len_persisted(), 1, "nothing stored");
    }
    assert!(batch.iter().all(|m| m.events().any_new()));

    // A second copy without new events is not written, so it is no conflict.
    let mut batch = vec![
        members.find_by_id(created[1].id).await.unwrap(),
        members.find_by_id(created[1].id).await.unwrap(),
    ];
    batch[0].note("only this copy changed");
    assert_eq!(members.update_all(&mut batch).await.unwrap(), 1);
}

#[tokio::test]
async fn update_all_sees_the_smallest_change_whatever_the_session_settings() {
    // With extra_float_digits = 0 PostgreSQL prints floats rounded to 15
    // digits, so 0.1 and its next neighbour print alike; and a case-only
    // change is no change under a case-insensitive collation. update_all
    // compares the stored bytes, so both are written.
    es_entity_tests::pool().await; // the database exists and is migrated
    let options = crate::reliability_support::options().extra_float_digits(0);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .unwrap();
    let gauges = Gauges { pool: pool.clone() };
    let mut batch = vec![
        gauges.create(new_gauge(0.1)).await.unwrap(),
        gauges.create(new_gauge(2.5)).await.unwrap(),
    ];
    let next = f64::from_bits(0.1_f64.to_bits() + 1);
    batch[0].read(next);
    let lower = batch[1].label.to_lowercase();
    batch[1].relabel(&lower);
    assert_eq!(gauges.update_all(&mut batch).await.unwrap(), 2);

    let stored: (f64, String) = sqlx::query_as("SELECT reading, label FROM gauges WHERE id = $1")
        .bind(Uuid::from(batch[0].id))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        stored.0.to_bits(),
        next.to_bits(),
        "the float change was written"
    );
    let stored: (f64, String) = sqlx::query_as("SELECT reading, label FROM gauges WHERE id = $1")
        .bind(Uuid::from(batch[1].id))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored.1, lower, "the case-only change was written");
    let shown: String = sqlx::query_scalar("SELECT reading::TEXT FROM gauges WHERE id = $1")
        .bind(Uuid::from(batch[0].id))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(shown, "0.1", "this session prints the two floats alike");
}

#[tokio::test]
async fn a_create_without_events_is_refused_before_writing() {
    let pool = es_entity_tests::pool().await;
    let gauges = Gauges { pool: pool.clone() };
    let mut new = new_gauge(1.0);
    new.silent = true;
    let id = new.id;
    let err = gauges.create(new).await.unwrap_err();
    let CreateError::HydrationError(hydration) = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(hydration.failure(), HydrationFailure::NoEvents),
        "{err:?}"
    );
    assert_eq!(hydration.entity_id(), Some(id.to_string().as_str()));
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM gauges WHERE id = $1")
        .bind(Uuid::from(id))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 0, "no index row without events");
}

/// `Memo` has no updatable column (`title` is `update(persist = false)`):
/// `update_all` only locks and checks the rows, then appends the events.
#[tokio::test]
async fn update_all_without_updatable_columns_appends_events_only() {
    let pool = es_entity_tests::pool().await;
    let memos = Memos::new(&pool);
    let mut batch: Vec<Memo> = memos
        .create_all(
            (0..3)
                .map(|i| NewMemo {
                    id: MemoId::new(),
                    title: unique(&format!("memo{i}")),
                })
                .collect(),
        )
        .await
        .unwrap();
    let titles: Vec<_> = batch.iter().map(|m| m.title.clone()).collect();
    batch[0].retitle("first");
    batch[2].retitle("third");
    batch[2].retitle("third again");
    assert_eq!(memos.update_all(&mut batch).await.unwrap(), 3);
    for (m, title) in batch.iter().zip(&titles) {
        let stored = memos.find_by_id(m.id).await.unwrap();
        assert_eq!(stored.events().len_persisted(), m.events().len_persisted());
        assert_eq!(&stored.title, &m.title, "hydrated from the new events");
        let indexed: String = sqlx::query_scalar("SELECT title FROM memos WHERE id = $1")
            .bind(Uuid::from(m.id))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(&indexed, title, "the index row keeps its create-time title");
    }

    // A vanished row still fails the whole batch, naming the entity.
    let gone = batch[1].id;
    sqlx::query("DELETE FROM memo_events WHERE id = $1")
        .bind(Uuid::from(gone))
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM memos WHERE id = $1")
        .bind(Uuid::from(gone))
        .execute(&pool)
        .await
        .unwrap();
    for m in &mut batch {
        m.retitle("again");
    }
    let err = memos.update_all(&mut batch).await.unwrap_err();
    assert!(
        matches!(&err, ModifyError::EntityNotFound { entity_id } if *entity_id == gone),
        "{err:?}"
    );
    let first = memos.find_by_id(batch[0].id).await.unwrap();
    assert_eq!(
        first.events().len_persisted(),
        2,
        "nothing of the batch stored"
    );
}

/// `update` (one entity) follows the same rule as `update_all`: the index
/// row is rewritten only when a column value changes, locked otherwise.
#[tokio::test]
async fn update_rewrites_the_index_row_only_when_a_column_changes() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let mut member = members_with_nickname(&members, 1).await.remove(0);
    let before = row(&pool, member.id).await;

    member.note("no column changes");
    let same_region = member.region.clone();
    member.change_region(&same_region);
    assert_eq!(members.update(&mut member).await.unwrap(), 2);
    assert_eq!(row(&pool, member.id).await, before, "row left alone");

    member.change_nickname(None);
    member.change_credit_limit(321);
    assert_eq!(members.update(&mut member).await.unwrap(), 2);
    let after = row(&pool, member.id).await;
    assert_ne!(after.0, before.0, "row rewritten");
    assert_eq!((after.1, after.2), (None, 321));
    let stored = members.find_by_id(member.id).await.unwrap();
    assert_eq!(stored.events().len_persisted(), 5);

    // A float's last bit is a change, whatever the session prints.
    es_entity_tests::pool().await;
    let options = crate::reliability_support::options().extra_float_digits(0);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    let gauges = Gauges { pool: pool.clone() };
    let mut gauge = gauges.create(new_gauge(0.1)).await.unwrap();
    let next = f64::from_bits(0.1_f64.to_bits() + 1);
    gauge.read(next);
    assert_eq!(gauges.update(&mut gauge).await.unwrap(), 1);
    let stored: f64 = sqlx::query_scalar("SELECT reading FROM gauges WHERE id = $1")
        .bind(Uuid::from(gauge.id))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored.to_bits(), next.to_bits());
}
