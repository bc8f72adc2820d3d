//! Bad data: rows written by hand with plain SQL into the tables of a
//! dedicated entity, `Specimen` (migrations/20261122000500_specimens.sql), so
//! no other test ever reads them. Every load of a malformed history returns a
//! typed hydration error naming the entity and, where one event is to blame,
//! its sequence; nothing panics. What the schema refuses to store (malformed
//! JSON, a duplicated sequence) is asserted to be refused.

use es_entity::*;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::reliability_support::{sqlstate, unique};

entity_id! { SpecimenId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "SpecimenId")]
pub enum SpecimenEvent {
    Created { name: String },
    Renamed { name: String },
    Measured { grams: i64 },
    Noted { text: String },
}

#[derive(EsEntity, Debug)]
pub struct Specimen {
    pub id: SpecimenId,
    pub name: String,
    pub grams: Option<i64>,
    pub notes: Vec<String>,
    events: EntityEvents<SpecimenEvent>,
}

impl Specimen {
    pub fn rename(&mut self, name: impl Into<String>) {
        let name = name.into();
        self.name = name.clone();
        self.events.push(SpecimenEvent::Renamed { name });
    }

    pub fn note(&mut self, text: impl Into<String>) {
        let text = text.into();
        self.notes.push(text.clone());
        self.events.push(SpecimenEvent::Noted { text });
    }
}

impl TryFromEvents<SpecimenEvent> for Specimen {
    /// The history must open with exactly one `created`; the error of a
    /// broken rule names the event that broke it.
    fn try_from_events(events: EntityEvents<SpecimenEvent>) -> Result<Self, EntityHydrationError> {
        let id = *events.id();
        let (mut name, mut grams, mut notes) = (None, None, Vec::new());
        for (i, event) in events.iter_all().enumerate() {
            let invalid = |why: &str| {
                EntityHydrationError::new(
                    Some(id.to_string()),
                    Some(i as i64 + 1),
                    HydrationFailure::Invalid(why.to_owned()),
                )
            };
            match event {
                SpecimenEvent::Created { name: n } if i == 0 => name = Some(n.clone()),
                SpecimenEvent::Created { .. } => return Err(invalid("created twice")),
                _ if i == 0 => return Err(invalid("the history does not open with `created`")),
                SpecimenEvent::Renamed { name: n } => name = Some(n.clone()),
                SpecimenEvent::Measured { grams: g } => grams = Some(*g),
                SpecimenEvent::Noted { text } => notes.push(text.clone()),
            }
        }
        Ok(Specimen {
            id,
            name: name.ok_or_else(|| events.missing_field("name"))?,
            grams,
            notes,
            events,
        })
    }
}

pub struct NewSpecimen {
    pub id: SpecimenId,
    pub name: String,
}

impl NewSpecimen {
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            id: SpecimenId::new(),
            name: name.into(),
        }
    }
}

impl IntoEvents<SpecimenEvent> for NewSpecimen {
    fn into_events(self) -> EntityEvents<SpecimenEvent> {
        EntityEvents::init(self.id, [SpecimenEvent::Created { name: self.name }])
    }
}

#[derive(EsRepo, Clone)]
#[es_repo(entity = "Specimen", columns(name = "String"))]
pub struct Specimens {
    pool: PgPool,
}

impl Specimens {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Specimens with exactly this name, through `es_query!`.
    pub async fn named_exactly(
        &self,
        name: &str,
    ) -> Result<(Vec<Specimen>, bool), SpecimenQueryError> {
        es_query!(
            "SELECT id FROM specimens WHERE name = $1 ORDER BY id LIMIT 3",
            name
        )
        .fetch_n(&self.pool, 2)
        .await
    }
}

// ---------------------------------------------------------------------------
// Writing rows by hand.

async fn insert_row(pool: &PgPool, id: Uuid, name: &str) {
    sqlx::query("INSERT INTO specimens (id, created_at, name) VALUES ($1, NOW(), $2)")
        .bind(id)
        .bind(name)
        .execute(pool)
        .await
        .unwrap();
}

/// Inserts one event row; `json` is cast to JSONB by the server.
async fn insert_event(
    pool: &PgPool,
    id: Uuid,
    sequence: i32,
    event_type: &str,
    json: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO specimen_events (id, sequence, event_type, event, recorded_at) \
         VALUES ($1, $2, $3, $4::JSONB, NOW())",
    )
    .bind(id)
    .bind(sequence)
    .bind(event_type)
    .bind(json)
    .execute(pool)
    .await
    .map(|_| ())
}

/// An index row and the given events, `(sequence, event_type, json)`.
async fn specimen_with(pool: &PgPool, events: &[(i32, &str, &str)]) -> (SpecimenId, String) {
    let id = SpecimenId::new();
    let name = unique("specimen");
    insert_row(pool, id.into(), &name).await;
    for (sequence, event_type, json) in events {
        insert_event(pool, id.into(), *sequence, event_type, json)
            .await
            .unwrap();
    }
    (id, name)
}

fn created(name: &str) -> String {
    serde_json::json!({ "type": "created", "name": name }).to_string()
}

/// Loads the specimen every way the repository offers (by id, by name,
/// maybe-by-id, `find_all`, `es_query!`) and checks each returns a hydration
/// error naming it and `sequence`, whose failure passes `check`. Returns the
/// error's message.
async fn assert_unloadable(
    specimens: &Specimens,
    id: SpecimenId,
    name: &str,
    sequence: Option<i64>,
    check: impl Fn(&HydrationFailure) -> bool,
) -> String {
    let id_text = id.to_string();
    let verify = |how: &str, e: &EntityHydrationError| {
        assert_eq!(e.entity_id(), Some(id_text.as_str()), "{how}: {e}");
        assert_eq!(e.sequence(), sequence, "{how}: {e}");
        assert!(
            check(e.failure()),
            "{how}: unexpected failure {:?}",
            e.failure()
        );
    };
    let by_id = specimens.find_by_id(id).await;
    let message = match &by_id {
        Err(FindError::HydrationError(e)) => {
            verify("find_by_id", e);
            by_id.as_ref().unwrap_err().to_string()
        }
        other => panic!("find_by_id: expected a hydration error, got {other:?}"),
    };
    match specimens.find_by_name(name.to_owned()).await {
        Err(FindError::HydrationError(e)) => verify("find_by_name", &e),
        other => panic!("find_by_name: expected a hydration error, got {other:?}"),
    }
    match specimens.maybe_find_by_id(id).await {
        Err(QueryError::HydrationError(e)) => verify("maybe_find_by_id", &e),
        other => panic!("maybe_find_by_id: expected a hydration error, got {other:?}"),
    }
    match specimens.find_all::<Specimen>(&[id]).await {
        Err(QueryError::HydrationError(e)) => verify("find_all", &e),
        other => panic!("find_all: expected a hydration error, got {other:?}"),
    }
    match specimens.named_exactly(name).await {
        Err(QueryError::HydrationError(e)) => verify("es_query", &e),
        other => panic!("es_query: expected a hydration error, got {other:?}"),
    }
    assert!(message.contains(&id_text), "{message}");
    if let Some(s) = sequence {
        assert!(message.contains(&format!("at event {s}")), "{message}");
    }
    message
}

type Check = fn(&HydrationFailure) -> bool;

/// A malformed history and what loading it must report.
struct Case {
    what: &'static str,
    events: Vec<(i32, &'static str, String)>,
    sequence: Option<i64>,
    check: Check,
}

fn case(
    what: &'static str,
    events: Vec<(i32, &'static str, String)>,
    sequence: Option<i64>,
    check: Check,
) -> Case {
    Case {
        what,
        events,
        sequence,
        check,
    }
}

/// Each case: a history whose event 2 (or the named one) is bad.
#[tokio::test]
async fn malformed_histories_are_typed_errors_naming_entity_and_sequence() {
    let pool = es_entity_tests::pool().await;
    let specimens = Specimens::new(pool.clone());
    let ok = created("ok");
    let mut tried = 0;

    let bad_event: Check = |f| matches!(f, HydrationFailure::BadEvent(_));
    let cases: Vec<Case> = vec![
        case(
            "wrong payload shape",
            vec![(2, "renamed", r#"{"type":"renamed","name":42}"#.into())],
            Some(2),
            bad_event,
        ),
        case(
            "missing field",
            vec![(2, "renamed", r#"{"type":"renamed"}"#.into())],
            Some(2),
            bad_event,
        ),
        case(
            "no type tag",
            vec![(2, "renamed", r#"{"name":"x"}"#.into())],
            Some(2),
            bad_event,
        ),
        case(
            "an array",
            vec![(2, "renamed", "[1, 2, 3]".into())],
            Some(2),
            bad_event,
        ),
        case(
            "a string",
            vec![(2, "renamed", r#""renamed""#.into())],
            Some(2),
            bad_event,
        ),
        case(
            "null",
            vec![(2, "renamed", "null".into())],
            Some(2),
            bad_event,
        ),
        case(
            "a number out of range",
            vec![(2, "measured", r#"{"type":"measured","grams":1e400}"#.into())],
            Some(2),
            bad_event,
        ),
        case(
            "unknown event type, JSON that decodes to nothing",
            vec![(2, "exploded", r#"{"type":"exploded","force":9000}"#.into())],
            Some(2),
            |f| matches!(f, HydrationFailure::UnknownEventType(t) if t == "exploded"),
        ),
        case(
            "unknown event type, JSON of a known event",
            vec![(2, "exploded", r#"{"type":"renamed","name":"x"}"#.into())],
            Some(2),
            |f| {
                matches!(f, HydrationFailure::EventTypeMismatch { stored, decoded }
                    if stored == "exploded" && *decoded == "renamed")
            },
        ),
        case(
            "event_type disagrees with the JSON",
            vec![(2, "renamed", r#"{"type":"measured","grams":5}"#.into())],
            Some(2),
            |f| {
                matches!(f, HydrationFailure::EventTypeMismatch { stored, decoded }
                    if stored == "renamed" && *decoded == "measured")
            },
        ),
        case(
            "event_type in another case",
            vec![(2, "Renamed", r#"{"type":"renamed","name":"x"}"#.into())],
            Some(2),
            |f| matches!(f, HydrationFailure::EventTypeMismatch { stored, .. } if stored == "Renamed"),
        ),
        case(
            "a missing sequence (1, 3)",
            vec![(3, "renamed", r#"{"type":"renamed","name":"x"}"#.into())],
            Some(3),
            |f| {
                matches!(
                    f,
                    HydrationFailure::SequenceGap {
                        expected: 2,
                        found: 3
                    }
                )
            },
        ),
        case(
            "a sequence far ahead",
            vec![(
                i32::MAX,
                "renamed",
                r#"{"type":"renamed","name":"x"}"#.into(),
            )],
            Some(i64::from(i32::MAX)),
            |f| matches!(f, HydrationFailure::SequenceGap { expected: 2, found } if *found == i64::from(i32::MAX)),
        ),
        case(
            "a second created (the entity's own rule)",
            vec![(2, "created", created("again"))],
            Some(2),
            |f| matches!(f, HydrationFailure::Invalid(why) if why == "created twice"),
        ),
    ];
    for Case {
        what,
        events: extra,
        sequence,
        check,
    } in cases
    {
        let mut events = vec![(1, "created", ok.clone())];
        events.extend(extra);
        let rows: Vec<(i32, &str, &str)> = events
            .iter()
            .map(|(s, t, j)| (*s, *t, j.as_str()))
            .collect();
        let (id, name) = specimen_with(&pool, &rows).await;
        let message = assert_unloadable(&specimens, id, &name, sequence, check).await;
        println!("bad data, {what}: {message}");
        tried += 1;
    }

    // Histories that are wrong from the first row.
    let firsts: Vec<Case> = vec![
        case(
            "history starting at 2",
            vec![(2, "created", created("late"))],
            Some(2),
            |f| {
                matches!(
                    f,
                    HydrationFailure::SequenceGap {
                        expected: 1,
                        found: 2
                    }
                )
            },
        ),
        case(
            "sequence 0 and a negative one",
            vec![
                (-1, "created", created("neg")),
                (0, "renamed", r#"{"type":"renamed","name":"x"}"#.into()),
            ],
            Some(-1),
            |f| {
                matches!(
                    f,
                    HydrationFailure::SequenceGap {
                        expected: 1,
                        found: -1
                    }
                )
            },
        ),
        case(
            "no created event",
            vec![(1, "renamed", r#"{"type":"renamed","name":"x"}"#.into())],
            Some(1),
            |f| matches!(f, HydrationFailure::Invalid(_)),
        ),
    ];
    for Case {
        what,
        events,
        sequence,
        check,
    } in firsts
    {
        let rows: Vec<(i32, &str, &str)> = events
            .iter()
            .map(|(s, t, j)| (*s, *t, j.as_str()))
            .collect();
        let (id, name) = specimen_with(&pool, &rows).await;
        let message = assert_unloadable(&specimens, id, &name, sequence, check).await;
        println!("bad data, {what}: {message}");
        tried += 1;
    }
    println!("bad data: {tried} malformed histories, each a typed error from 5 load paths");
}

/// One bad entity fails a `find_all` of several, naming the bad one.
#[tokio::test]
async fn one_bad_history_fails_find_all_and_names_the_culprit() {
    let pool = es_entity_tests::pool().await;
    let specimens = Specimens::new(pool.clone());
    let good = specimens
        .create(NewSpecimen::named(unique("good")))
        .await
        .unwrap();
    let (bad, _) = specimen_with(
        &pool,
        &[
            (1, "created", created("x").as_str()),
            (2, "measured", r#"{"type":"measured"}"#),
        ],
    )
    .await;
    let other = specimens
        .create(NewSpecimen::named(unique("good")))
        .await
        .unwrap();
    match specimens
        .find_all::<Specimen>(&[good.id, bad, other.id])
        .await
    {
        Err(QueryError::HydrationError(e)) => {
            assert_eq!(e.entity_id(), Some(bad.to_string().as_str()));
            assert_eq!(e.sequence(), Some(2));
        }
        other => panic!("expected a hydration error, got {other:?}"),
    }
    let fine = specimens
        .find_all::<Specimen>(&[good.id, other.id])
        .await
        .unwrap();
    assert_eq!(fine.len(), 2);
}

/// What PostgreSQL refuses to store never reaches hydration.
#[tokio::test]
async fn malformed_json_and_duplicated_sequences_cannot_be_stored() {
    let pool = es_entity_tests::pool().await;
    let (id, _) = specimen_with(&pool, &[(1, "created", created("x").as_str())]).await;
    let raw = Uuid::from(id);

    for malformed in [r#"{"type": "renamed", "#, "{'type': 'renamed'}", "", "NaN"] {
        let err = insert_event(&pool, raw, 2, "renamed", malformed)
            .await
            .unwrap_err();
        assert_eq!(
            sqlstate(&err).as_deref(),
            Some("22P02"),
            "{malformed}: {err}"
        );
    }
    // JSONB cannot hold a NUL character either (\u0000 in a string).
    let err = insert_event(
        &pool,
        raw,
        2,
        "renamed",
        r#"{"type":"renamed","name":"a\u0000b"}"#,
    )
    .await
    .unwrap_err();
    assert_eq!(sqlstate(&err).as_deref(), Some("22P05"), "{err}");

    // UNIQUE(id, sequence): a second event 1 is refused.
    let err = insert_event(&pool, raw, 1, "renamed", r#"{"type":"renamed","name":"x"}"#)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err).as_deref(), Some("23505"), "{err}");

    let specimens = Specimens::new(pool.clone());
    assert_eq!(
        specimens.find_by_id(id).await.unwrap().name,
        "x",
        "still one clean event"
    );
}

/// Unknown fields in an event are ignored (serde's default), so an event
/// written by a newer version with an extra field still loads.
#[tokio::test]
async fn extra_fields_in_an_event_are_tolerated() {
    let pool = es_entity_tests::pool().await;
    let specimens = Specimens::new(pool.clone());
    let (id, _) = specimen_with(
        &pool,
        &[
            (1, "created", created("x").as_str()),
            (
                2,
                "renamed",
                r#"{"type":"renamed","name":"y","since":"v2"}"#,
            ),
            (
                3,
                "measured",
                r#"{"grams":12,"unit":"g","type":"measured"}"#,
            ),
        ],
    )
    .await;
    let specimen = specimens.find_by_id(id).await.unwrap();
    assert_eq!((specimen.name.as_str(), specimen.grams), ("y", Some(12)));
}

/// Events without an index row read as "not found" (reads select ids from
/// the index table). An index row without events is a hydration error
/// naming the entity (`HydrationFailure::NoEvents`).
#[tokio::test]
async fn orphaned_events_read_as_not_found_and_empty_index_rows_as_errors() {
    let pool = es_entity_tests::pool().await;
    let specimens = Specimens::new(pool.clone());

    // Events, no index row (possible here: specimen_events has no foreign key).
    let orphan = SpecimenId::new();
    insert_event(&pool, orphan.into(), 1, "created", &created("orphan"))
        .await
        .unwrap();
    assert!(
        specimens
            .find_by_id(orphan)
            .await
            .unwrap_err()
            .was_not_found()
    );
    assert!(specimens.maybe_find_by_id(orphan).await.unwrap().is_none());
    assert!(
        specimens
            .find_all::<Specimen>(&[orphan])
            .await
            .unwrap()
            .is_empty()
    );

    // An index row, no events: every read names it.
    let (empty, name) = specimen_with(&pool, &[]).await;
    let no_events = |e: &EntityHydrationError| {
        assert!(matches!(e.failure(), HydrationFailure::NoEvents), "{e}");
        assert_eq!(e.entity_id(), Some(empty.to_string().as_str()));
    };
    match specimens.find_by_id(empty).await.unwrap_err() {
        FindError::HydrationError(e) => no_events(&e),
        other => panic!("expected a hydration error, got {other:?}"),
    }
    match specimens.find_by_name(name.clone()).await.unwrap_err() {
        FindError::HydrationError(e) => no_events(&e),
        other => panic!("expected a hydration error, got {other:?}"),
    }
    match specimens.maybe_find_by_id(empty).await.unwrap_err() {
        QueryError::HydrationError(e) => no_events(&e),
        other => panic!("expected a hydration error, got {other:?}"),
    }
    match specimens.find_all::<Specimen>(&[empty]).await.unwrap_err() {
        QueryError::HydrationError(e) => no_events(&e),
        other => panic!("expected a hydration error, got {other:?}"),
    }
    match specimens.named_exactly(&name).await.unwrap_err() {
        QueryError::HydrationError(e) => no_events(&e),
        other => panic!("expected a hydration error, got {other:?}"),
    }

    // With the standard layout (events REFERENCES the index table) the first
    // cannot even be stored.
    let err = sqlx::query(
        "INSERT INTO account_events (id, sequence, event_type, event, recorded_at) \
         VALUES ($1, 1, 'opened', '{\"type\":\"opened\",\"name\":\"x\"}', NOW())",
    )
    .bind(Uuid::now_v7())
    .execute(&pool)
    .await
    .unwrap_err();
    assert_eq!(sqlstate(&err).as_deref(), Some("23503"), "{err}");
}
