//! Two levels of nested entities: a board owns its lanes, a lane owns its
//! cards (book/src/nested.md). The board's reads load the board, its lanes,
//! their cards and every event of the three in one statement; its writes
//! batch each level: one statement per repository whatever the number of
//! lanes and cards.

use std::collections::HashMap;
use std::sync::Arc;

use crate::nested::one_of_two_wins;
use crate::repo_round_trips::counting;
use es_entity::prelude::*;
use es_entity::{NestedError, RetryableError};

entity_id! { BoardId, LaneId, CardId }

// ANCHOR: grandchild
#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "CardId")]
pub enum CardEvent {
    Created { lane_id: LaneId, title: String },
    Done,
}

#[derive(EsEntity, Debug)]
pub struct Card {
    pub id: CardId,
    pub lane_id: LaneId,
    pub title: String,
    pub done: bool,
    events: EntityEvents<CardEvent>,
}

impl Card {
    pub fn finish(&mut self) {
        self.done = true;
        self.events.push(CardEvent::Done);
    }
}
// ANCHOR_END: grandchild

impl TryFromEvents<CardEvent> for Card {
    fn try_from_events(events: EntityEvents<CardEvent>) -> Result<Self, EntityHydrationError> {
        let mut created = None;
        let mut done = false;
        for event in events.iter_all() {
            match event {
                CardEvent::Created { lane_id, title } => created = Some((*lane_id, title.clone())),
                CardEvent::Done => done = true,
            }
        }
        let (lane_id, title) = created.ok_or_else(|| events.missing_field("title"))?;
        Ok(Card {
            id: *events.id(),
            lane_id,
            title,
            done,
            events,
        })
    }
}

pub struct NewCard {
    pub id: CardId,
    pub lane_id: LaneId,
    pub title: String,
}

impl IntoEvents<CardEvent> for NewCard {
    fn into_events(self) -> EntityEvents<CardEvent> {
        EntityEvents::init(
            self.id,
            [CardEvent::Created {
                lane_id: self.lane_id,
                title: self.title,
            }],
        )
    }
}

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "LaneId")]
pub enum LaneEvent {
    Created { board_id: BoardId, name: String },
    Renamed { name: String },
}

/// The middle level: a child of the board and the parent of its cards.
#[derive(EsEntity, Debug)]
pub struct Lane {
    pub id: LaneId,
    pub board_id: BoardId,
    pub name: String,
    #[es_entity(nested)]
    cards: Nested<Card>,
    events: EntityEvents<LaneEvent>,
}

impl Lane {
    pub fn add_card(&mut self, title: impl Into<String>) -> CardId {
        let id = CardId::new();
        self.cards.add_new(NewCard {
            id,
            lane_id: self.id,
            title: title.into(),
        });
        id
    }

    pub fn card_mut(&mut self, id: CardId) -> Option<&mut Card> {
        self.cards.get_persisted_mut(&id)
    }

    pub fn rename(&mut self, name: impl Into<String>) {
        self.name = name.into();
        self.events.push(LaneEvent::Renamed {
            name: self.name.clone(),
        });
    }

    pub fn cards(&self) -> impl Iterator<Item = &Card> {
        self.cards.iter_persisted()
    }
}

impl TryFromEvents<LaneEvent> for Lane {
    fn try_from_events(events: EntityEvents<LaneEvent>) -> Result<Self, EntityHydrationError> {
        let mut board_id = None;
        let mut name = None;
        for event in events.iter_all() {
            match event {
                LaneEvent::Created {
                    board_id: b,
                    name: n,
                } => {
                    board_id = Some(*b);
                    name = Some(n.clone());
                }
                LaneEvent::Renamed { name: n } => name = Some(n.clone()),
            }
        }
        Ok(Lane {
            id: *events.id(),
            board_id: board_id.ok_or_else(|| events.missing_field("board_id"))?,
            name: name.ok_or_else(|| events.missing_field("name"))?,
            cards: Nested::default(),
            events,
        })
    }
}

pub struct NewLane {
    pub id: LaneId,
    pub board_id: BoardId,
    pub name: String,
}

impl IntoEvents<LaneEvent> for NewLane {
    fn into_events(self) -> EntityEvents<LaneEvent> {
        EntityEvents::init(
            self.id,
            [LaneEvent::Created {
                board_id: self.board_id,
                name: self.name,
            }],
        )
    }
}

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "BoardId")]
pub enum BoardEvent {
    Created { name: String },
    Renamed { name: String },
}

#[derive(EsEntity, Debug)]
pub struct Board {
    pub id: BoardId,
    pub name: String,
    #[es_entity(nested)]
    lanes: Nested<Lane>,
    events: EntityEvents<BoardEvent>,
}

impl Board {
    pub fn add_lane(&mut self, name: impl Into<String>) -> LaneId {
        let id = LaneId::new();
        self.lanes.add_new(NewLane {
            id,
            board_id: self.id,
            name: name.into(),
        });
        id
    }

    pub fn lane_mut(&mut self, id: LaneId) -> Option<&mut Lane> {
        self.lanes.get_persisted_mut(&id)
    }

    pub fn rename(&mut self, name: impl Into<String>) {
        self.name = name.into();
        self.events.push(BoardEvent::Renamed {
            name: self.name.clone(),
        });
    }

    /// `(lane, [(card, done)])`, lanes and cards by name.
    pub fn shape(&self) -> Vec<(String, Vec<(String, bool)>)> {
        let mut lanes: Vec<_> = self
            .lanes
            .iter_persisted()
            .map(|l| {
                let mut cards: Vec<_> = l.cards().map(|c| (c.title.clone(), c.done)).collect();
                cards.sort();
                (l.name.clone(), cards)
            })
            .collect();
        lanes.sort();
        lanes
    }
}

impl TryFromEvents<BoardEvent> for Board {
    fn try_from_events(events: EntityEvents<BoardEvent>) -> Result<Self, EntityHydrationError> {
        let mut name = None;
        for event in events.iter_all() {
            match event {
                BoardEvent::Created { name: n } | BoardEvent::Renamed { name: n } => {
                    name = Some(n.clone())
                }
            }
        }
        Ok(Board {
            id: *events.id(),
            name: name.ok_or_else(|| events.missing_field("name"))?,
            lanes: Nested::default(),
            events,
        })
    }
}

pub struct NewBoard {
    pub id: BoardId,
    pub name: String,
}

impl IntoEvents<BoardEvent> for NewBoard {
    fn into_events(self) -> EntityEvents<BoardEvent> {
        EntityEvents::init(self.id, [BoardEvent::Created { name: self.name }])
    }
}

// ANCHOR: repos
/// The grandchild repository: `lane_id` is its parent key.
#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Card",
    delete = "soft",
    columns(lane_id(ty = "LaneId", parent), title = "String")
)]
pub struct Cards {
    pool: sqlx::PgPool,
}

/// The child repository, itself a parent: `board_id` is its parent key,
/// `cards` its nested field.
#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Lane",
    delete = "soft",
    columns(board_id(ty = "BoardId", parent))
)]
pub struct Lanes {
    pool: sqlx::PgPool,
    #[es_repo(nested)]
    cards: Cards,
}

/// The root: `children(cards)` names the lanes' own nested field, so the
/// board's tree read loads the cards too (`cards` / `card_events`, parent
/// key `lane_id`, all checked against `Lanes` at compile time).
#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Board",
    delete = "soft",
    columns(name(ty = "String", list_for))
)]
pub struct Boards {
    pool: sqlx::PgPool,
    #[es_repo(nested(children(cards)))]
    lanes: Lanes,
}
// ANCHOR_END: repos

impl Boards {
    pub fn new(pool: &sqlx::PgPool) -> Self {
        Self {
            pool: pool.clone(),
            lanes: Lanes {
                pool: pool.clone(),
                cards: Cards { pool: pool.clone() },
            },
        }
    }
}

fn name() -> String {
    format!("board-{}", BoardId::new())
}

async fn new_board(boards: &Boards, name: String) -> Board {
    boards
        .create(NewBoard {
            id: BoardId::new(),
            name,
        })
        .await
        .unwrap()
}

/// A board with lanes `todo` and `done`, two cards in `todo` and one in `done`.
async fn stocked_board(boards: &Boards, name: String) -> (Board, LaneId, LaneId) {
    let mut board = new_board(boards, name).await;
    let todo = board.add_lane("todo");
    let done = board.add_lane("done");
    boards.update(&mut board).await.unwrap();
    let lane = board.lane_mut(todo).unwrap();
    lane.add_card("write");
    lane.add_card("test");
    board.lane_mut(done).unwrap().add_card("plan");
    assert_eq!(boards.update(&mut board).await.unwrap(), 3);
    (board, todo, done)
}

fn shape(lanes: &[(&str, &[(&str, bool)])]) -> Vec<(String, Vec<(String, bool)>)> {
    lanes
        .iter()
        .map(|(l, cards)| {
            (
                l.to_string(),
                cards.iter().map(|(c, d)| (c.to_string(), *d)).collect(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_board_its_lanes_and_their_cards_round_trip_one_statement_per_level() {
    counting(|pool, counter| async move {
        let boards = Boards::new(&pool);
        // Warm the three repositories' constraint catalogs (read once per process).
        stocked_board(&boards, name()).await;
        counter.take();

        // ANCHOR: round_trip
        let mut board = new_board(&boards, name()).await;
        let todo = board.add_lane("todo");
        board.add_lane("done");
        assert_eq!(boards.update(&mut board).await.unwrap(), 2);
        counter.take();

        // Cards go to a stored lane; the board's write reaches them.
        let lane = board.lane_mut(todo).unwrap();
        let write = lane.add_card("write");
        lane.add_card("test");
        assert_eq!(boards.update(&mut board).await.unwrap(), 2);
        // The cards' create_all and COMMIT (BEGIN is not logged): the lane
        // had nothing of its own to write.
        assert_eq!(counter.take().len(), 2, "adding two cards");

        // One statement loads the board, its lanes and their cards.
        let mut loaded = boards.find_by_id(board.id).await.unwrap();
        assert_eq!(counter.take().len(), 1, "the tree read");
        assert_eq!(
            loaded.shape(),
            shape(&[
                ("done", &[]),
                ("todo", &[("test", false), ("write", false)])
            ])
        );

        // A change at every level, and a new card: one statement per
        // repository and kind of write.
        loaded.rename("renamed");
        let lane = loaded.lane_mut(todo).unwrap();
        lane.rename("doing");
        lane.card_mut(write).unwrap().finish();
        lane.add_card("ship");
        assert_eq!(boards.update(&mut loaded).await.unwrap(), 4);
        // The board's statement, the lanes' update_all, the cards'
        // update_all and create_all, COMMIT.
        assert_eq!(counter.take().len(), 5, "a change at every level");
        // ANCHOR_END: round_trip

        let reloaded = boards.find_by_id(board.id).await.unwrap();
        assert_eq!(reloaded.name, "renamed");
        assert_eq!(
            reloaded.shape(),
            shape(&[
                (
                    "doing",
                    &[("ship", false), ("test", false), ("write", true)]
                ),
                ("done", &[]),
            ])
        );
        let doing = reloaded.lanes.get_persisted(&todo).unwrap();
        assert_eq!(doing.events().len_persisted(), 2);
        assert!(doing.cards().all(|c| c.lane_id == todo));
        let write_card = doing.cards.get_persisted(&write).unwrap();
        assert_eq!(write_card.events().len_persisted(), 2);

        // Nothing new anywhere: nothing runs.
        let mut same = reloaded;
        counter.take();
        assert_eq!(boards.update(&mut same).await.unwrap(), 0);
        assert!(counter.take().is_empty());

        // The middle repository reads its own two-level tree.
        let lane = boards.lanes.find_by_id(todo).await.unwrap();
        assert_eq!(lane.cards().count(), 3);
    })
    .await;
}

#[tokio::test]
async fn creating_a_board_with_lanes_and_cards_writes_each_level_once() {
    counting(|pool, counter| async move {
        let boards = Boards::new(&pool);
        stocked_board(&boards, name()).await;
        counter.take();
        // Many boards, lanes and cards in one update_all: still one
        // statement per repository.
        let mut many = Vec::new();
        for _ in 0..3 {
            let mut b = new_board(&boards, name()).await;
            for l in 0..4 {
                b.add_lane(format!("lane-{l}"));
            }
            many.push(b);
        }
        boards.update_all(&mut many).await.unwrap();
        for b in many.iter_mut() {
            let ids: Vec<LaneId> = b.lanes.iter_persisted().map(|l| l.id).collect();
            for id in ids {
                let lane = b.lane_mut(id).unwrap();
                for c in 0..5 {
                    lane.add_card(format!("card-{c}"));
                }
            }
        }
        counter.take();
        assert_eq!(boards.update_all(&mut many).await.unwrap(), 3 * 4 * 5);
        assert_eq!(
            counter.take().len(),
            2,
            "60 cards under 12 lanes of 3 boards"
        );

        let ids: Vec<BoardId> = many.iter().map(|b| b.id).collect();
        let found: HashMap<BoardId, Board> = boards.find_all(&ids).await.unwrap();
        assert_eq!(counter.take().len(), 1, "find_all of 3 trees");
        for b in &many {
            let f = &found[&b.id];
            assert_eq!(f.shape(), b.shape());
            assert_eq!(f.lanes.len_persisted(), 4);
            for lane in f.lanes.iter_persisted() {
                assert_eq!(lane.board_id, b.id);
                assert_eq!(lane.cards().count(), 5);
                assert!(lane.cards().all(|c| c.lane_id == lane.id));
            }
        }
    })
    .await;
}

#[tokio::test]
async fn listings_attach_each_card_to_its_own_lane_of_its_own_board() {
    let pool = es_entity_tests::pool().await;
    let boards = Boards::new(&pool);
    let shared = name();
    let (a, _, _) = stocked_board(&boards, shared.clone()).await;
    let mut b = new_board(&boards, shared.clone()).await;
    let only = b.add_lane("only");
    boards.update(&mut b).await.unwrap();
    b.lane_mut(only).unwrap().add_card("solo");
    boards.update(&mut b).await.unwrap();

    let page = boards
        .list_for_name_by_created_at(
            &shared,
            PaginatedQueryArgs {
                first: 1,
                after: None,
            },
            ListDirection::Descending,
        )
        .await
        .unwrap();
    assert_eq!(page.entities.len(), 1);
    assert_eq!(page.entities[0].id, b.id);
    assert_eq!(
        page.entities[0].shape(),
        shape(&[("only", &[("solo", false)])])
    );
    let next = boards
        .list_for_name_by_created_at(
            &shared,
            PaginatedQueryArgs {
                first: 5,
                after: page.end_cursor,
            },
            ListDirection::Descending,
        )
        .await
        .unwrap();
    assert_eq!(next.entities.len(), 1);
    assert_eq!(next.entities[0].id, a.id);
    assert_eq!(
        next.entities[0].shape(),
        shape(&[
            ("done", &[("plan", false)]),
            ("todo", &[("test", false), ("write", false)])
        ])
    );
}

#[tokio::test]
async fn a_duplicate_card_is_the_boards_typed_error_and_nothing_is_stored() {
    let pool = es_entity_tests::pool().await;
    let boards = Boards::new(&pool);
    let (board, todo, _) = stocked_board(&boards, name()).await;

    // ANCHOR: duplicate
    let mut board = boards.find_by_id(board.id).await.unwrap();
    board.rename("not stored");
    let lane = board.lane_mut(todo).unwrap();
    lane.rename("not stored either");
    lane.add_card("write"); // titles are unique within a lane
    let err = boards.update(&mut board).await.unwrap_err();
    assert!(err.was_duplicate());
    assert_eq!(err.constraint_name(), Some("cards_lane_title_key"));
    // The board's error names its field and child (the lanes' update_all
    // failed), with the card's facts; its source, the lanes' error, names
    // the cards' create_all.
    let lanes: &NestedError = err.nested_error().unwrap();
    assert_eq!(
        (lanes.field, lanes.entity, lanes.operation),
        ("lanes", "Lane", "update")
    );
    assert_eq!(lanes.constraint.as_deref(), Some("cards_lane_title_key"));
    // ANCHOR_END: duplicate
    assert!(err.to_string().contains("nested `cards` (Card)"), "{err}");
    assert!(!err.is_concurrent_modification());

    let stored = boards.find_by_id(board.id).await.unwrap();
    assert_ne!(stored.name, "not stored");
    assert_eq!(stored.events().len_persisted(), 1);
    assert_eq!(
        stored.shape(),
        shape(&[
            ("done", &[("plan", false)]),
            ("todo", &[("test", false), ("write", false)])
        ])
    );
}

#[tokio::test]
async fn two_writers_of_one_card_the_loser_sees_the_cards_conflict_through_the_board() {
    let pool = es_entity_tests::pool_with_size(4).await;
    let boards = Arc::new(Boards::new(&pool));
    let (board, todo, _) = stocked_board(&boards, name()).await;
    let card = board
        .lanes
        .get_persisted(&todo)
        .unwrap()
        .cards()
        .find(|c| c.title == "write")
        .unwrap()
        .id;

    let err = one_of_two_wins([(), ()], |(), barrier| {
        let boards = boards.clone();
        let id = board.id;
        async move {
            let mut copy = boards.find_by_id(id).await.unwrap();
            let lane = copy.lane_mut(todo).unwrap();
            lane.card_mut(card).unwrap().finish();
            barrier.wait().await;
            boards.update(&mut copy).await
        }
    })
    .await;
    // ANCHOR: conflict
    assert!(err.is_concurrent_modification());
    let lanes = err.nested_error().unwrap();
    assert_eq!(lanes.field, "lanes");
    assert_eq!(lanes.conflict, Some(card.to_string()));
    assert_eq!(lanes.conflict_entity, Some("Card"));
    let conflict = err.concurrent_modification().unwrap();
    assert_eq!((conflict.entity, conflict.expected_version), ("Card", 1));
    // ANCHOR_END: conflict

    let stored = boards.lanes.cards.find_by_id(card).await.unwrap();
    assert_eq!(stored.events().len_persisted(), 2, "one write landed");
}

#[tokio::test]
async fn soft_delete_cascades_to_lanes_and_cards() {
    let pool = es_entity_tests::pool().await;
    let boards = Boards::new(&pool);
    let (board, todo, done) = stocked_board(&boards, name()).await;
    let other = stocked_board(&boards, name()).await.0;
    let id = board.id;
    let card = board
        .lanes
        .get_persisted(&done)
        .unwrap()
        .cards()
        .next()
        .unwrap()
        .id;

    boards.delete(board).await.unwrap();
    assert!(boards.maybe_find_by_id(id).await.unwrap().is_none());
    assert!(boards.lanes.maybe_find_by_id(todo).await.unwrap().is_none());
    assert!(
        boards
            .lanes
            .cards
            .maybe_find_by_id(card)
            .await
            .unwrap()
            .is_none()
    );
    let deleted = boards.find_by_id_include_deleted(id).await.unwrap();
    assert_eq!(
        deleted.shape(),
        shape(&[
            ("done", &[("plan", false)]),
            ("todo", &[("test", false), ("write", false)])
        ])
    );
    let (lanes, cards): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM lanes WHERE board_id = $1 AND deleted), \
                (SELECT COUNT(*) FROM cards c JOIN lanes l ON c.lane_id = l.id \
                 WHERE l.board_id = $1 AND c.deleted)",
    )
    .bind(uuid::Uuid::from(id))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((lanes, cards), (2, 3));
    // The other board is untouched.
    let other = boards.find_by_id(other.id).await.unwrap();
    assert_eq!(other.shape().iter().map(|l| l.1.len()).sum::<usize>(), 3);

    // A card deleted on its own drops out of its board's reads.
    let (board, todo, _) = stocked_board(&boards, name()).await;
    let lone = board
        .lanes
        .get_persisted(&todo)
        .unwrap()
        .cards()
        .next()
        .unwrap()
        .id;
    let lone = boards.lanes.cards.find_by_id(lone).await.unwrap();
    boards.lanes.cards.delete(lone).await.unwrap();
    let reloaded = boards.find_by_id(board.id).await.unwrap();
    assert_eq!(reloaded.shape().iter().map(|l| l.1.len()).sum::<usize>(), 2);
    let all = boards.find_by_id_include_deleted(board.id).await.unwrap();
    assert_eq!(all.shape().iter().map(|l| l.1.len()).sum::<usize>(), 3);
}
