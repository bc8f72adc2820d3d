//! Index columns may be named like the words the generated SQL uses itself:
//! `ordinality` (what `WITH ORDINALITY` calls a row's position) and the
//! aliases `k`, `doc` and `r` of `create_all`'s statement. Every write and
//! read below is checked against the database at build time, so a clash
//! fails the build; the test proves the values land in the right columns of
//! the right rows.

use es_entity::*;
use sqlx::PgPool;
use uuid::Uuid;

entity_id! { SlotId }

#[derive(EsEvent, Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "SlotId")]
pub enum SlotEvent {
    Placed {
        ordinality: i64,
        k: String,
        doc: String,
        r: String,
    },
    Moved {
        ordinality: i64,
    },
    Noted {
        text: String,
    },
}

#[derive(EsEntity, Debug)]
pub struct Slot {
    pub id: SlotId,
    pub ordinality: i64,
    pub k: String,
    pub doc: String,
    pub r: String,
    pub notes: Vec<String>,
    events: EntityEvents<SlotEvent>,
}

impl Slot {
    pub(crate) fn move_to(&mut self, ordinality: i64) {
        self.ordinality = ordinality;
        self.events.push(SlotEvent::Moved { ordinality });
    }
}

impl TryFromEvents<SlotEvent> for Slot {
    fn try_from_events(events: EntityEvents<SlotEvent>) -> Result<Self, EntityHydrationError> {
        let mut placed = None;
        let mut position = None;
        let mut notes = Vec::new();
        for event in events.iter_all() {
            match event {
                SlotEvent::Placed {
                    ordinality,
                    k,
                    doc,
                    r,
                } => {
                    placed = Some((k.clone(), doc.clone(), r.clone()));
                    position = Some(*ordinality);
                }
                SlotEvent::Moved { ordinality } => position = Some(*ordinality),
                SlotEvent::Noted { text } => notes.push(text.clone()),
            }
        }
        let (k, doc, r) = placed.ok_or_else(|| events.missing_field("k"))?;
        Ok(Slot {
            id: *events.id(),
            ordinality: position.ok_or_else(|| events.missing_field("ordinality"))?,
            k,
            doc,
            r,
            notes,
            events,
        })
    }
}

pub struct NewSlot {
    id: SlotId,
    ordinality: i64,
    k: String,
    doc: String,
    r: String,
    /// Events after the first, so histories of different lengths share a batch.
    notes: Vec<String>,
}

impl IntoEvents<SlotEvent> for NewSlot {
    fn into_events(self) -> EntityEvents<SlotEvent> {
        let placed = SlotEvent::Placed {
            ordinality: self.ordinality,
            k: self.k,
            doc: self.doc,
            r: self.r,
        };
        let notes = self.notes.into_iter().map(|text| SlotEvent::Noted { text });
        EntityEvents::init(self.id, std::iter::once(placed).chain(notes))
    }
}

#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Slot",
    columns(ordinality = "i64", k = "String", doc = "String", r = "String")
)]
pub struct Slots {
    pub(crate) pool: PgPool,
}

/// A slot whose four columns all hold different values, derived from `n`
/// and the random tail of a fresh id (ids are time-ordered UUIDs; unique
/// across runs on the same database), so a value
/// written to the wrong column or row shows.
pub(crate) fn new_slot(n: i64) -> NewSlot {
    let id = SlotId::new();
    let bytes = Uuid::from(id).into_bytes();
    let random = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    NewSlot {
        id,
        ordinality: i64::from(random) * 10_000 + n,
        k: format!("k-{n}-{id}"),
        doc: format!("doc-{n}-{id}"),
        r: format!("r-{n}-{id}"),
        notes: (0..n % 3).map(|i| format!("note {i} of {id}")).collect(),
    }
}

async fn stored_row(pool: &PgPool, id: SlotId) -> (i64, String, String, String) {
    sqlx::query_as("SELECT ordinality, k, doc, r FROM slots WHERE id = $1")
        .bind(Uuid::from(id))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn columns_named_like_the_bulk_statements_own_words_are_written_and_read() {
    let pool = es_entity_tests::pool().await;
    let slots = Slots { pool: pool.clone() };

    let news: Vec<NewSlot> = (1..=4).map(new_slot).collect();
    let expected: Vec<_> = news
        .iter()
        .map(|n| (n.id, n.ordinality, n.k.clone(), n.doc.clone(), n.r.clone()))
        .collect();
    let created = slots.create_all(news).await.unwrap();
    assert_eq!(created.len(), 4);

    for ((id, ordinality, k, doc, r), slot) in expected.iter().zip(&created) {
        assert_eq!(slot.id, *id, "create_all keeps input order");
        let notes = slots.find_by_id(*id).await.unwrap().notes;
        assert_eq!(
            notes, slot.notes,
            "each entity gets its own events, in order"
        );
        assert_eq!(
            stored_row(&pool, *id).await,
            (*ordinality, k.clone(), doc.clone(), r.clone())
        );
        let found = slots.find_by_ordinality(*ordinality).await.unwrap();
        assert_eq!((found.id, &found.k, &found.doc, &found.r), (*id, k, doc, r));
        let by_k = slots.find_by_k(k.as_str()).await.unwrap();
        assert_eq!(by_k.id, *id);
    }

    // update_all and update write the renamed position to the right rows.
    let mut batch = created;
    for (i, slot) in batch.iter_mut().enumerate() {
        if i % 2 == 0 {
            let moved = slot.ordinality + 500;
            slot.move_to(moved);
        }
    }
    assert_eq!(slots.update_all(&mut batch).await.unwrap(), 2);
    let moved = batch[1].ordinality + 700;
    batch[1].move_to(moved);
    slots.update(&mut batch[1]).await.unwrap();

    for (i, slot) in batch.iter().enumerate() {
        let (ordinality, k, _, _) = stored_row(&pool, slot.id).await;
        let (_, before, ..) = &expected[i];
        let shift = match i {
            0 | 2 => 500,
            1 => 700,
            _ => 0,
        };
        assert_eq!(ordinality, before + shift, "slot {i}");
        assert_eq!(k, expected[i].2);
        let reloaded = slots.find_by_id(slot.id).await.unwrap();
        assert_eq!(reloaded.ordinality, ordinality);
        let moves = if shift == 0 { 0 } else { 1 };
        assert_eq!(
            reloaded.events().len_persisted(),
            1 + reloaded.notes.len() + moves
        );
    }
}
