//! Events whose JSON provably reads back (`EsEvent::__json_round_trip_proven`,
//! `es_entity::__private::round_trip`), the safety net debug builds keep
//! under that proof, and `create_all` writing the stored time into entities
//! whose hydration never read one (`stored_times`). Stored on the memo
//! tables (`repo_fixtures`).

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use es_entity::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::repo_fixtures::*;

// ANCHOR: proven
/// Proven: serde's internal tag in snake_case, unit and named-field
/// variants, fields of types whose JSON always reads back.
#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "MemoId")]
pub enum StampEvent {
    Written {
        title: String,
    },
    Noted {
        by: MemoId,
        note: String,
        count: i64,
        tags: Vec<String>,
        reply_to: Option<Uuid>,
        urgent: bool,
    },
    Archived,
}

/// Not proven (a float can be `NaN`, written as `null`): every write parses
/// these events back.
#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "MemoId")]
pub enum ReadingEvent {
    Measured { celsius: f64 },
}
// ANCHOR_END: proven

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Money {
    cents: i64,
}

macro_rules! unproven {
    ($name:ident, $(#[$attr:meta])* { $($body:tt)* }) => {
        #[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
        $(#[$attr])*
        #[es_event(id = "MemoId")]
        #[allow(dead_code, non_camel_case_types)]
        pub enum $name { $($body)* }
    };
}

unproven!(
    WideEvent,
    #[serde(tag = "type", rename_all = "snake_case")]
    {
        Paid { amount: i128 }
    }
);
unproven!(TimedEvent, #[serde(tag = "type", rename_all = "snake_case")] { Due { at: DateTime<Utc> } });
unproven!(
    OwnTypeEvent,
    #[serde(tag = "type", rename_all = "snake_case")]
    {
        Paid { amount: Money }
    }
);
unproven!(TupleEvent, #[serde(tag = "type", rename_all = "snake_case")] { Paid { amount: i64 }, Other(Money) });
unproven!(
    CamelEvent,
    #[serde(tag = "type", rename_all = "camelCase")]
    {
        Paid { amount: i64 }
    }
);
unproven!(
    ExternalEvent,
    #[serde(rename_all = "snake_case")]
    {
        Paid { amount: i64 }
    }
);
unproven!(
    NoRenameEvent,
    #[serde(tag = "type")]
    {
        Paid { amount: i64 }
    }
);
unproven!(
    DefaultEvent,
    #[serde(tag = "type", rename_all = "snake_case")]
    {
        Paid {
            #[serde(default)]
            amount: i64,
        }
    }
);
unproven!(
    RenamedEvent,
    #[serde(tag = "type", rename_all = "snake_case")]
    {
        #[serde(rename = "settled")]
        Paid { amount: i64 }
    }
);
unproven!(
    HiddenEvent,
    #[serde(tag = "type", rename_all = "snake_case")]
    {
        #[cfg_attr(all(), serde(rename = "settled"))]
        Paid { amount: i64 }
    }
);
unproven!(
    MoreEvent,
    #[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
    {
        Paid { amount: i64 }
    }
);

/// The same enum twice: once with the derive, once with `EsEvent` written by
/// hand (which keeps the default, unproven).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ManualEvent {
    Paid { amount: i64 },
}

impl EsEvent for ManualEvent {
    type EntityId = MemoId;
    const EVENT_TYPES: &'static [&'static str] = &["paid"];
    fn event_type(&self) -> &'static str {
        "paid"
    }
}

#[test]
fn the_derive_proves_only_the_enums_whose_json_always_reads_back() {
    assert!(StampEvent::__json_round_trip_proven());
    let unproven = [
        ("f64", ReadingEvent::__json_round_trip_proven()),
        ("i128", WideEvent::__json_round_trip_proven()),
        ("DateTime", TimedEvent::__json_round_trip_proven()),
        ("own type", OwnTypeEvent::__json_round_trip_proven()),
        ("tuple variant", TupleEvent::__json_round_trip_proven()),
        ("camelCase", CamelEvent::__json_round_trip_proven()),
        (
            "externally tagged",
            ExternalEvent::__json_round_trip_proven(),
        ),
        ("no rename_all", NoRenameEvent::__json_round_trip_proven()),
        ("field attribute", DefaultEvent::__json_round_trip_proven()),
        (
            "variant attribute",
            RenamedEvent::__json_round_trip_proven(),
        ),
        ("cfg_attr", HiddenEvent::__json_round_trip_proven()),
        ("another enum option", MoreEvent::__json_round_trip_proven()),
        (
            "hand-written EsEvent",
            ManualEvent::__json_round_trip_proven(),
        ),
    ];
    for (case, proven) in unproven {
        assert!(!proven, "{case} must not be proven");
    }
}

/// How many times each test entity was hydrated.
static STAMP_HYDRATIONS: AtomicUsize = AtomicUsize::new(0);
static QUIET_HYDRATIONS: AtomicUsize = AtomicUsize::new(0);

/// Keeps the time its first event was stored at, read during hydration.
#[derive(EsEntity, Debug)]
pub struct Stamp {
    pub id: MemoId,
    pub created: Option<DateTime<Utc>>,
    events: EntityEvents<StampEvent>,
}

impl TryFromEvents<StampEvent> for Stamp {
    fn try_from_events(events: EntityEvents<StampEvent>) -> Result<Self, EntityHydrationError> {
        STAMP_HYDRATIONS.fetch_add(1, Ordering::SeqCst);
        Ok(Stamp {
            id: *events.id(),
            created: events.entity_first_persisted_at(),
            events,
        })
    }
}

/// Reads no stored time while hydrating.
#[derive(EsEntity, Debug)]
#[es_entity(new = "NewStamp", event = "StampEvent")]
pub struct Quiet {
    pub id: MemoId,
    pub notes: usize,
    events: EntityEvents<StampEvent>,
}

impl TryFromEvents<StampEvent> for Quiet {
    fn try_from_events(events: EntityEvents<StampEvent>) -> Result<Self, EntityHydrationError> {
        QUIET_HYDRATIONS.fetch_add(1, Ordering::SeqCst);
        let notes = events
            .iter_all()
            .filter(|e| matches!(e, StampEvent::Noted { .. }))
            .count();
        Ok(Quiet {
            id: *events.id(),
            notes,
            events,
        })
    }
}

pub struct NewStamp {
    pub(crate) id: MemoId,
    pub(crate) title: String,
}

impl NewStamp {
    fn fresh() -> Self {
        Self {
            id: MemoId::new(),
            title: unique("stamp"),
        }
    }
}

impl IntoEvents<StampEvent> for NewStamp {
    fn into_events(self) -> EntityEvents<StampEvent> {
        EntityEvents::init(
            self.id,
            [
                StampEvent::Written { title: self.title },
                StampEvent::Noted {
                    by: self.id,
                    note: "first \"note\"\n".into(),
                    count: -3,
                    tags: vec!["a".into()],
                    reply_to: None,
                    urgent: true,
                },
            ],
        )
    }
}

#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Stamp",
    id = "MemoId",
    tbl = "memos",
    events_tbl = "memo_events",
    columns(title(ty = "String", update(persist = false)))
)]
pub struct Stamps {
    pub(crate) pool: sqlx::PgPool,
}

#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Quiet",
    event = "StampEvent",
    id = "MemoId",
    tbl = "memos",
    events_tbl = "memo_events",
    columns(title(ty = "String", update(persist = false)))
)]
pub struct Quiets {
    pub(crate) pool: sqlx::PgPool,
}

async fn stored_times(pool: &sqlx::PgPool, id: MemoId) -> Vec<DateTime<Utc>> {
    sqlx::query_scalar("SELECT recorded_at FROM memo_events WHERE id = $1 ORDER BY sequence")
        .bind(Uuid::from(id))
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn create_all_hydrates_again_only_the_entities_that_read_a_stored_time() {
    let pool = es_entity_tests::pool().await;
    let (stamps, quiets) = (Stamps { pool: pool.clone() }, Quiets { pool: pool.clone() });

    // On the pool the stored time is the server's NOW(), known only once
    // the statement returns: an entity that read a time while hydrating is
    // hydrated again with it (twice in all), one that did not gets the time
    // written into its events (once in all).
    let before = STAMP_HYDRATIONS.load(Ordering::SeqCst);
    let created = stamps
        .create_all((0..3).map(|_| NewStamp::fresh()).collect())
        .await
        .unwrap();
    let stamp_hydrations = STAMP_HYDRATIONS.load(Ordering::SeqCst) - before;
    for stamp in &created {
        let stored = stored_times(&pool, stamp.id).await;
        assert_eq!(stored.len(), 2);
        assert_eq!(
            stamp.created,
            Some(stored[0]),
            "what hydration read is the stored time"
        );
        let loaded = stamps.find_by_id(stamp.id).await.unwrap();
        assert_eq!(loaded.created, stamp.created);
    }

    let before = QUIET_HYDRATIONS.load(Ordering::SeqCst);
    let created = quiets
        .create_all((0..3).map(|_| NewStamp::fresh()).collect())
        .await
        .unwrap();
    let quiet_hydrations = QUIET_HYDRATIONS.load(Ordering::SeqCst) - before;
    for quiet in &created {
        assert_eq!(quiet.notes, 1);
        let times: Vec<_> = quiet
            .events()
            .iter_persisted()
            .map(|e| e.recorded_at)
            .collect();
        assert_eq!(times, stored_times(&pool, quiet.id).await);
    }

    // No other test hydrates these two entities.
    assert_eq!(stamp_hydrations, 6);
    assert_eq!(quiet_hydrations, 3);
}

// ANCHOR: picky
/// Written by serde's derive, read by a hand-written `Deserialize` that
/// refuses `Sealed`. The derive cannot see that, and proves the enum reads
/// back; debug builds parse every event back anyway and refuse the write.
#[derive(EsEvent, Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "MemoId")]
pub enum PickyEvent {
    Written { title: String },
    Sealed { note: String },
}

impl<'de> Deserialize<'de> for PickyEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        enum Readable {
            Written { title: String },
        }
        let Readable::Written { title } = Readable::deserialize(d)?;
        Ok(PickyEvent::Written { title })
    }
}
// ANCHOR_END: picky

#[derive(EsEntity, Debug)]
#[cfg_attr(not(debug_assertions), allow(dead_code))]
pub struct Picky {
    pub id: MemoId,
    events: EntityEvents<PickyEvent>,
}

impl Picky {
    #[cfg_attr(not(debug_assertions), allow(dead_code))]
    fn seal(&mut self) {
        self.events.push(PickyEvent::Sealed {
            note: "unreadable".into(),
        });
    }
}

impl TryFromEvents<PickyEvent> for Picky {
    fn try_from_events(events: EntityEvents<PickyEvent>) -> Result<Self, EntityHydrationError> {
        Ok(Picky {
            id: *events.id(),
            events,
        })
    }
}

pub struct NewPicky {
    pub(crate) id: MemoId,
    pub(crate) title: String,
    pub(crate) sealed: bool,
}

impl IntoEvents<PickyEvent> for NewPicky {
    fn into_events(self) -> EntityEvents<PickyEvent> {
        let mut events = EntityEvents::init(self.id, [PickyEvent::Written { title: self.title }]);
        if self.sealed {
            events.push(PickyEvent::Sealed {
                note: "unreadable".into(),
            });
        }
        events
    }
}

#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Picky",
    id = "MemoId",
    tbl = "memos",
    events_tbl = "memo_events",
    columns(title(ty = "String", update(persist = false)))
)]
pub struct Pickies {
    pub(crate) pool: sqlx::PgPool,
}

fn refused_at(err: &EntityHydrationError, id: MemoId, sequence: i64) -> bool {
    matches!(err.failure(), HydrationFailure::BadEvent(_))
        && err.sequence() == Some(sequence)
        && err.entity_id() == Some(id.to_string().as_str())
}

#[cfg(debug_assertions)]
#[tokio::test]
async fn debug_builds_parse_proven_events_back_and_refuse_what_does_not_read_back() {
    assert!(PickyEvent::__json_round_trip_proven());
    let pool = es_entity_tests::pool().await;
    let pickies = Pickies { pool: pool.clone() };
    let new = |sealed| NewPicky {
        id: MemoId::new(),
        title: unique("picky"),
        sealed,
    };

    let (sealed, fine) = (new(true), new(false));
    let (sealed_id, fine_id) = (sealed.id, fine.id);
    let err = pickies.create_all(vec![fine, sealed]).await.unwrap_err();
    let CreateError::HydrationError(h) = &err else {
        panic!("{err:?}")
    };
    assert!(refused_at(h, sealed_id, 2), "{err:?}");
    assert!(!index_row_exists(&pool, "memos", sealed_id).await);
    assert!(!index_row_exists(&pool, "memos", fine_id).await);

    let mut picky = pickies.create(new(false)).await.unwrap();
    let id = picky.id;
    picky.seal();
    let err = pickies.update(&mut picky).await.unwrap_err();
    assert!(
        matches!(&err, ModifyError::HydrationError(h) if refused_at(h, id, 2)),
        "{err:?}"
    );
    let mut batch = vec![picky];
    let err = pickies.update_all(&mut batch).await.unwrap_err();
    assert!(
        matches!(&err, ModifyError::HydrationError(h) if refused_at(h, id, 2)),
        "{err:?}"
    );
    assert_eq!(stored_sequences(&pool, "memo_events", id).await, [1]);
}

/// Release builds trust the proof, and `PickyEvent`'s hand-written
/// `Deserialize` breaks its assumption: the sealed event is stored. The read
/// that meets it reports a typed error naming the entity and the sequence
/// (what debug builds, above, refuse to let happen). `.ci/run` runs this
/// file in a release build too.
#[cfg(not(debug_assertions))]
#[tokio::test]
async fn release_builds_trust_the_proof_and_a_read_names_what_it_missed() {
    assert!(PickyEvent::__json_round_trip_proven());
    let pool = es_entity_tests::pool().await;
    let pickies = Pickies { pool: pool.clone() };
    let id = MemoId::new();
    let created = pickies
        .create_all(vec![NewPicky {
            id,
            title: unique("picky"),
            sealed: true,
        }])
        .await
        .unwrap();
    assert_eq!(created.len(), 1);
    assert_eq!(stored_sequences(&pool, "memo_events", id).await, [1, 2]);
    let err = pickies.find_by_id(id).await.unwrap_err();
    let FindError::HydrationError(h) = &err else {
        panic!("{err:?}")
    };
    assert!(refused_at(h, id, 2), "{err:?}");
}

/// Not proven (a serde attribute): `draft` is never written, and reads back
/// as its default.
#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "MemoId")]
pub enum DraftEvent {
    Written {
        title: String,
        #[serde(skip_serializing, default)]
        draft: String,
    },
}

#[derive(EsEntity, Debug)]
pub struct Draft {
    pub id: MemoId,
    pub draft: String,
    events: EntityEvents<DraftEvent>,
}

impl TryFromEvents<DraftEvent> for Draft {
    fn try_from_events(events: EntityEvents<DraftEvent>) -> Result<Self, EntityHydrationError> {
        let DraftEvent::Written { draft, .. } = events.iter_all().next().unwrap().clone();
        Ok(Draft {
            id: *events.id(),
            draft,
            events,
        })
    }
}

pub struct NewDraft {
    pub(crate) id: MemoId,
    pub(crate) title: String,
}

impl IntoEvents<DraftEvent> for NewDraft {
    fn into_events(self) -> EntityEvents<DraftEvent> {
        EntityEvents::init(
            self.id,
            [DraftEvent::Written {
                title: self.title,
                draft: "kept only in memory".into(),
            }],
        )
    }
}

#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Draft",
    id = "MemoId",
    tbl = "memos",
    events_tbl = "memo_events",
    columns(title(ty = "String", update(persist = false)))
)]
pub struct Drafts {
    pub(crate) pool: sqlx::PgPool,
}

#[tokio::test]
async fn create_all_returns_what_a_read_gives_not_what_was_written() {
    assert!(!DraftEvent::__json_round_trip_proven());
    let pool = es_entity_tests::pool().await;
    let drafts = Drafts { pool: pool.clone() };
    let id = MemoId::new();
    let created = drafts
        .create_all(vec![NewDraft {
            id,
            title: unique("draft"),
        }])
        .await
        .unwrap();
    assert_eq!(created[0].id, id);
    assert_eq!(
        created[0].draft, "",
        "hydrated from the event as it reads back"
    );
    assert_eq!(drafts.find_by_id(id).await.unwrap().draft, "");
}

/// Every field type the proof accepts, in one proven enum.
#[derive(EsEvent, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "MemoId")]
pub enum EveryTypeEvent {
    Scalars {
        flag: bool,
        letter: char,
        a: i8,
        b: i16,
        c: i32,
        d: i64,
        e: isize,
        f: u8,
        g: u16,
        h: u32,
        i: u64,
        j: usize,
    },
    Texts {
        text: String,
        id: MemoId,
        uuid: Uuid,
        nested: Option<Vec<String>>,
        boxed: Box<u64>,
        maybe: Option<u64>,
    },
    Empty,
}

mod props {
    use proptest::prelude::*;

    use super::*;

    /// jsonb refuses `\u0000` when the event is stored (an error, nothing
    /// stored), so the strings here leave it out.
    fn text() -> impl Strategy<Value = String> {
        any::<String>().prop_map(|s| s.replace('\0', ""))
    }

    fn event() -> impl Strategy<Value = EveryTypeEvent> {
        let scalars = (
            (
                any::<bool>(),
                any::<char>().prop_filter("no NUL", |c| *c != '\0'),
            ),
            (
                any::<i8>(),
                any::<i16>(),
                any::<i32>(),
                any::<i64>(),
                any::<isize>(),
            ),
            (
                any::<u8>(),
                any::<u16>(),
                any::<u32>(),
                any::<u64>(),
                any::<usize>(),
            ),
        )
            .prop_map(|((flag, letter), (a, b, c, d, e), (f, g, h, i, j))| {
                EveryTypeEvent::Scalars {
                    flag,
                    letter,
                    a,
                    b,
                    c,
                    d,
                    e,
                    f,
                    g,
                    h,
                    i,
                    j,
                }
            });
        let texts = (
            text(),
            any::<u128>(),
            prop::option::of(prop::collection::vec(text(), 0..4)),
            prop::option::of(any::<u64>()),
        )
            .prop_map(|(text, raw, nested, maybe)| EveryTypeEvent::Texts {
                text,
                id: MemoId::from(Uuid::from_u128(raw)),
                uuid: Uuid::from_u128(raw.rotate_left(7)),
                nested,
                boxed: Box::new(raw as u64),
                maybe,
            });
        prop_oneof![scalars, texts, Just(EveryTypeEvent::Empty)]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        /// What the proof claims, through the real path: serialized as a
        /// write serializes it, stored as `jsonb` (which reorders keys and
        /// rewrites numbers) and read back as a read parses it.
        #[test]
        fn every_value_of_a_proven_enum_reads_back_from_jsonb(event in event()) {
            prop_assert!(EveryTypeEvent::__json_round_trip_proven());
            let text = serde_json::to_string(&event).unwrap();
            let stored: String = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    let pool = es_entity_tests::pool().await;
                    sqlx::query_scalar("SELECT $1::jsonb::text")
                        .bind(&text)
                        .fetch_one(&pool)
                        .await
                        .unwrap()
                });
            let back: EveryTypeEvent = serde_json::from_str(&stored).unwrap();
            prop_assert_eq!(back, event);
        }
    }
}
