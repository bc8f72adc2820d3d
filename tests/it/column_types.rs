//! Column types: each kind of Rust type a repository binds is written by
//! every write (create, create_all, update, update_all) and compared by the
//! reads that filter on it, with values that only a typed bind keeps
//! exactly (NaN, -0.0, an enum whose SQL labels differ from its Rust names).
//! Types sqlx cannot check at compile time are checked on first use; a
//! mismatch is a typed error naming the column, the Rust type and the SQL
//! type, and nothing is written. The compile-time side is in
//! tests/ui/column_types/.

use es_entity::*;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::repo_fixtures::{MemberId, unique};

entity_id! { BookId, LeafletId }

// ANCHOR: types
/// A PostgreSQL enum; its labels are snake_case, its variants are not.
#[derive(sqlx::Type, Debug, Clone, Copy, PartialEq, Eq)]
#[sqlx(type_name = "book_status", rename_all = "snake_case")]
pub enum BookStatus {
    Available,
    Lent,
    Lost,
}

/// A newtype over `TEXT`, with no serde at all: columns never travel as JSON.
#[derive(sqlx::Type, Debug, Clone, PartialEq, Eq)]
#[sqlx(transparent)]
pub struct Isbn(String);
// ANCHOR_END: types

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "BookId")]
pub enum BookEvent {
    Catalogued {
        title: String,
        pages: i32,
        /// `f64::to_bits`: JSON has no NaN.
        rating_bits: u64,
        copies: Option<i64>,
        isbn: String,
    },
    Lent {
        to: MemberId,
    },
    Rated {
        rating_bits: u64,
    },
}

#[derive(EsEntity, Debug)]
pub struct Book {
    pub id: BookId,
    pub title: String,
    pub pages: i32,
    pub rating: f64,
    pub copies: Option<i64>,
    pub isbn: Isbn,
    pub status: BookStatus,
    pub holder_id: Option<MemberId>,
    events: EntityEvents<BookEvent>,
}

impl Book {
    pub(crate) fn lend(&mut self, to: MemberId) {
        self.status = BookStatus::Lent;
        self.holder_id = Some(to);
        self.events.push(BookEvent::Lent { to });
    }

    pub(crate) fn rate(&mut self, rating: f64) {
        self.rating = rating;
        self.events.push(BookEvent::Rated {
            rating_bits: rating.to_bits(),
        });
    }
}

impl TryFromEvents<BookEvent> for Book {
    fn try_from_events(events: EntityEvents<BookEvent>) -> Result<Self, EntityHydrationError> {
        let mut book = None;
        for event in events.iter_all() {
            match event {
                BookEvent::Catalogued {
                    title,
                    pages,
                    rating_bits,
                    copies,
                    isbn,
                } => {
                    book = Some((
                        title.clone(),
                        *pages,
                        f64::from_bits(*rating_bits),
                        *copies,
                        Isbn(isbn.clone()),
                        BookStatus::Available,
                        None,
                    ))
                }
                BookEvent::Lent { to } => {
                    if let Some(b) = book.as_mut() {
                        b.5 = BookStatus::Lent;
                        b.6 = Some(*to);
                    }
                }
                BookEvent::Rated { rating_bits } => {
                    if let Some(b) = book.as_mut() {
                        b.2 = f64::from_bits(*rating_bits);
                    }
                }
            }
        }
        let (title, pages, rating, copies, isbn, status, holder_id) =
            book.ok_or_else(|| events.missing_field("title"))?;
        Ok(Book {
            id: *events.id(),
            title,
            pages,
            rating,
            copies,
            isbn,
            status,
            holder_id,
            events,
        })
    }
}

pub struct NewBook {
    id: BookId,
    title: String,
    pages: i32,
    rating: f64,
    copies: Option<i64>,
    isbn: Isbn,
    status: BookStatus,
    holder_id: Option<MemberId>,
}

impl NewBook {
    pub(crate) fn fresh(rating: f64) -> Self {
        Self {
            id: BookId::new(),
            title: unique("title"),
            pages: 321,
            rating,
            copies: Some(i64::from(i32::MAX) + 7),
            isbn: Isbn(unique("isbn")),
            status: BookStatus::Available,
            holder_id: None,
        }
    }
}

impl IntoEvents<BookEvent> for NewBook {
    fn into_events(self) -> EntityEvents<BookEvent> {
        EntityEvents::init(
            self.id,
            [BookEvent::Catalogued {
                title: self.title,
                pages: self.pages,
                rating_bits: self.rating.to_bits(),
                copies: self.copies,
                isbn: self.isbn.0,
            }],
        )
    }
}

// ANCHOR: repo
#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Book",
    columns(
        title(ty = "String", list_by),
        pages = "i32",
        rating(ty = "f64", find_by = false),
        copies = "Option<i64>",
        isbn = "Isbn",
        status(ty = "BookStatus", list_for),
        holder_id(ty = "Option<MemberId>", list_for)
    )
)]
pub struct Books {
    pub(crate) pool: PgPool,
}
// ANCHOR_END: repo

/// The same table, with `status` declared as the TEXT newtype: the enum
/// column does not take it, and sqlx cannot tell at compile time. (In a
/// module of its own: a repository's generated types are named after its
/// entity.)
pub(crate) mod misdeclared {
    use super::*;

    #[derive(EsRepo, Debug)]
    #[es_repo(
        entity = "Book",
        columns(
            title(ty = "String", find_by = false),
            status(
                ty = "Isbn",
                find_by = false,
                create(accessor = "status_label()"),
                update(accessor = "status_label()")
            ),
            holder_id(
                ty = "Option<Isbn>",
                find_by = false,
                create(accessor = "holder_label()"),
                update(accessor = "holder_label()")
            )
        )
    )]
    pub struct MisdeclaredBooks {
        pub pool: PgPool,
    }
}
use misdeclared::MisdeclaredBooks;

/// What `MisdeclaredBooks` writes into `status` and `holder_id`.
macro_rules! labels {
    ($($ty:ty),*) => {$(
        impl $ty {
            fn status_label(&self) -> Isbn {
                Isbn(format!("{:?}", self.status))
            }

            fn holder_label(&self) -> Option<Isbn> {
                self.holder_id.map(|h| Isbn(h.to_string()))
            }
        }
    )*};
}
labels!(Book, NewBook);

/// What the stored index row holds, read with plain SQL.
#[derive(sqlx::FromRow, Debug, PartialEq)]
struct Row {
    title: String,
    pages: i32,
    rating: f64,
    copies: Option<i64>,
    isbn: String,
    status: String,
    holder_id: Option<uuid::Uuid>,
}

async fn row(pool: &PgPool, id: BookId) -> Row {
    sqlx::query_as(
        "SELECT title, pages, rating, copies, isbn, status::TEXT AS status, holder_id \
         FROM books WHERE id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn every_write_stores_each_kind_of_column_exactly() {
    let pool = es_entity_tests::pool().await;
    let books = Books { pool: pool.clone() };
    let member = MemberId::new();

    // create: a NaN rating, a BIGINT beyond i32, the enum, the newtype.
    let mut one = books.create(NewBook::fresh(f64::NAN)).await.unwrap();
    let stored = row(&pool, one.id).await;
    assert!(stored.rating.is_nan());
    assert_eq!(stored.copies, Some(i64::from(i32::MAX) + 7));
    assert_eq!(stored.status, "available");
    assert_eq!(stored.isbn, one.isbn.0);
    assert_eq!(stored.holder_id, None);

    // update: -0.0 is a change from NaN and is stored with its sign.
    one.rate(-0.0);
    one.lend(member);
    books.update(&mut one).await.unwrap();
    let stored = row(&pool, one.id).await;
    assert!(stored.rating == 0.0 && stored.rating.is_sign_negative());
    assert_eq!(stored.status, "lent");
    assert_eq!(stored.holder_id, Some(member.into()));

    // create_all and update_all, through arrays of each type.
    let mut many = books
        .create_all(vec![NewBook::fresh(f64::NAN), NewBook::fresh(-0.0)])
        .await
        .unwrap();
    assert!(row(&pool, many[0].id).await.rating.is_nan());
    assert!(row(&pool, many[1].id).await.rating.is_sign_negative());
    many[0].rate(f64::INFINITY);
    many[1].lend(member);
    assert_eq!(books.update_all(&mut many).await.unwrap(), 2);
    assert_eq!(row(&pool, many[0].id).await.rating, f64::INFINITY);
    let second = row(&pool, many[1].id).await;
    assert_eq!(
        (second.status.as_str(), second.holder_id),
        ("lent", Some(member.into()))
    );

    // Each read compares its column with the bound value.
    let found = books.find_by_isbn(one.isbn.clone()).await.unwrap();
    assert_eq!(found.id, one.id);
    assert_eq!(found.holder_id, Some(member));
    assert!(matches!(
        books.find_by_pages(321).await,
        Err(FindError::MultipleFound { .. })
    ));
    let by_copies = books
        .maybe_find_by_copies(Some(i64::from(i32::MAX) + 7))
        .await;
    assert!(matches!(by_copies, Err(QueryError::MultipleFound { .. })));
    let lent = books
        .list_for_holder_id_by_title(
            Some(member),
            PaginatedQueryArgs {
                first: 10,
                after: None,
            },
            ListDirection::Ascending,
        )
        .await
        .unwrap();
    let mut ids: Vec<_> = lent.entities.iter().map(|b| b.id).collect();
    ids.sort();
    let mut want = vec![one.id, many[1].id];
    want.sort();
    assert_eq!(ids, want);
    let available = books
        .list_for_status_by_id(
            BookStatus::Lost,
            PaginatedQueryArgs {
                first: 10,
                after: None,
            },
            ListDirection::Ascending,
        )
        .await
        .unwrap();
    assert!(available.entities.is_empty());
}

#[tokio::test]
async fn a_type_sqlx_cannot_check_is_checked_on_first_write() {
    let pool = es_entity_tests::pool().await;
    let books = MisdeclaredBooks { pool: pool.clone() };

    let expected = vec![
        ColumnTypeMismatch {
            entity: "Book",
            table: "books".into(),
            column: "status".into(),
            rust_type: "Isbn",
            sql_type: "book_status".into(),
        },
        ColumnTypeMismatch {
            entity: "Book",
            table: "books".into(),
            column: "holder_id".into(),
            rust_type: "Option<Isbn>",
            sql_type: "uuid".into(),
        },
    ];
    // ANCHOR: check
    match books.check_column_types().await {
        Err(ColumnTypeError::Mismatch(m)) => assert_eq!(m, expected),
        other => panic!("expected a mismatch, got {other:?}"),
    }
    // ANCHOR_END: check

    let new = NewBook::fresh(1.0);
    let id = new.id;
    match books.create(new).await {
        Err(CreateError::ColumnTypeMismatch(m)) => {
            assert_eq!(m, expected);
            let text = CreateError::<BookColumn>::ColumnTypeMismatch(m).to_string();
            assert!(
                text.contains(
                    "`status` is declared `Isbn`, which does not fit books.status (book_status)"
                ),
                "{text}"
            );
        }
        other => panic!("expected ColumnTypeMismatch, got {other:?}"),
    }
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM books WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing is written");

    // update refuses too, and leaves the new events unsaved.
    let books_ok = Books { pool: pool.clone() };
    let mut book = books_ok.create(NewBook::fresh(2.0)).await.unwrap();
    book.rate(3.0);
    match books.update(&mut book).await {
        Err(ModifyError::ColumnTypeMismatch(m)) => assert_eq!(m, expected),
        other => panic!("expected ColumnTypeMismatch, got {other:?}"),
    }
    assert_eq!(book.events().len_new(), 1);
    assert_eq!(row(&pool, book.id).await.rating, 2.0);

    // The well-declared repository passes the same check.
    books_ok.check_column_types().await.unwrap();
}

// ---------------------------------------------------------------------------
// Leaflet: one INT column declared `i32`. The UI cases
// tests/ui/column_types/{string,i64}_on_int.rs derive the same repository
// with `String` and `i64`: the statements are the same, so their metadata
// is in `.sqlx/`, and sqlx's check fails their build.

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "LeafletId")]
pub enum LeafletEvent {
    Printed { pages: i32 },
}

#[derive(EsEntity, Debug)]
pub struct Leaflet {
    pub id: LeafletId,
    pub pages: i32,
    events: EntityEvents<LeafletEvent>,
}

impl TryFromEvents<LeafletEvent> for Leaflet {
    fn try_from_events(events: EntityEvents<LeafletEvent>) -> Result<Self, EntityHydrationError> {
        let pages = events
            .iter_all()
            .map(|LeafletEvent::Printed { pages }| *pages)
            .next_back()
            .ok_or_else(|| events.missing_field("pages"))?;
        Ok(Leaflet {
            id: *events.id(),
            pages,
            events,
        })
    }
}

pub struct NewLeaflet {
    pub(crate) id: LeafletId,
    pub(crate) pages: i32,
}

impl IntoEvents<LeafletEvent> for NewLeaflet {
    fn into_events(self) -> EntityEvents<LeafletEvent> {
        EntityEvents::init(self.id, [LeafletEvent::Printed { pages: self.pages }])
    }
}

#[derive(EsRepo, Debug)]
#[es_repo(entity = "Leaflet", columns(pages = "i32"))]
pub struct Leaflets {
    pub(crate) pool: PgPool,
}

#[tokio::test]
async fn leaflet_pages_round_trip() {
    let leaflets = Leaflets {
        pool: es_entity_tests::pool().await,
    };
    let id = LeafletId::new();
    let created = leaflets
        .create(NewLeaflet {
            id,
            pages: i32::MAX,
        })
        .await
        .unwrap();
    assert_eq!((created.id, created.pages), (id, i32::MAX));
    assert_eq!(leaflets.find_by_id(id).await.unwrap().pages, i32::MAX);
}
