//! Writes PostgreSQL refuses for one of its own limits (SQLSTATE class 54,
//! `program_limit_exceeded`) are `ServerLimitExceeded`, on the real server:
//! a column value too large for its index entry (create, create_all,
//! update, update_unchecked) and an event holding a string past jsonb's
//! limit (update_all); and a nested child's, through its parent's error.
//! The tests run on a pool of one connection, so a write after the refusal
//! shows that very connection still usable.

use std::time::Instant;

use es_entity::EsEntity as _;
use es_entity::{CreateError, ModifyError, ServerLimitExceeded, UncheckedModifyError};
use sqlx::PgPool;

use crate::nested::{NewOrder, OrderId, Orders};
use crate::repo_fixtures::{
    Member, MemberId, Members, NewMember, index_row_exists, member_row, stored_sequences, unique,
};

/// `len` characters no compression shrinks (pseudo-random letters), so the
/// value reaches an index entry at its full size.
fn incompressible(len: usize) -> String {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}

/// Whether the member has an index row or any event.
async fn stored(pool: &PgPool, id: MemberId) -> bool {
    index_row_exists(pool, "members", id).await
        || !stored_sequences(pool, "member_events", id).await.is_empty()
}

/// The refusal's facts every test checks: SQLSTATE 54000, and text naming
/// it and saying nothing was stored.
fn check_refusal(limit: &ServerLimitExceeded, text: &str) {
    assert_eq!(limit.sqlstate, "54000", "{limit:?}");
    assert_eq!(limit.condition(), "program_limit_exceeded");
    assert!(text.contains("SQLSTATE 54000"), "{text}");
    assert!(text.contains("nothing of it was stored"), "{text}");
}

/// Sends a `nickname` of 12,000 incompressible characters: the unique
/// index on `members.nickname` cannot hold it (PostgreSQL 15: "index row
/// requires 12016 bytes, maximum size is 8191", 54000). A few kB per write,
/// milliseconds.
#[tokio::test]
async fn a_value_too_large_for_its_index_is_refused_on_create_and_create_all() {
    let pool = es_entity_tests::pool_with_size(1).await;
    let members = Members::new(&pool);
    let huge = incompressible(12_000);

    // ANCHOR: create
    let new = NewMember {
        nickname: Some(huge.clone()),
        ..NewMember::fresh()
    };
    let id = new.id;
    let err = members.create(new).await.unwrap_err();
    let CreateError::ServerLimitExceeded(limit) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(limit.sqlstate, "54000");
    assert!(err.was_too_large());
    assert!(!stored(&pool, id).await);
    // ANCHOR_END: create
    check_refusal(limit, &err.to_string());
    assert!(err.to_string().starts_with("creating Member: "), "{err}");
    assert!(!err.was_duplicate() && err.constraint_violation().is_none());

    // A batch: the good member is not stored either.
    let good = NewMember::fresh();
    let bad = NewMember {
        nickname: Some(huge),
        ..NewMember::fresh()
    };
    let ids = [good.id, bad.id];
    let err = members.create_all(vec![good, bad]).await.unwrap_err();
    let CreateError::ServerLimitExceeded(limit) = &err else {
        panic!("{err:?}")
    };
    check_refusal(limit, &err.to_string());
    for id in ids {
        assert!(!stored(&pool, id).await);
    }

    // `batch::isolate` does not stop at it: it bisects down to the member
    // past the limit and writes the others, on the pool's one connection.
    // ANCHOR: isolate
    let mut news: Vec<NewMember> = (0..4).map(|_| NewMember::fresh()).collect();
    news[2].nickname = Some(incompressible(12_000));
    let ids: Vec<MemberId> = news.iter().map(|n| n.id).collect();
    let done = es_entity::batch::isolate(news, async |part| members.create_all(part).await).await;
    assert!(done.stopped.is_none());
    assert_eq!(done.written.len(), 3);
    assert_eq!(done.failed.len(), 1);
    assert_eq!(done.failed[0].index, 2);
    assert!(done.failed[0].error.server_limit_exceeded().is_some());
    // ANCHOR_END: isolate
    for (i, id) in ids.into_iter().enumerate() {
        assert_eq!(stored(&pool, id).await, i != 2);
    }
}

/// As above on the update paths: a stored member's nickname changed to
/// 12,000 incompressible characters.
#[tokio::test]
async fn a_value_too_large_for_its_index_is_refused_on_update_and_update_unchecked() {
    let pool = es_entity_tests::pool_with_size(1).await;
    let members = Members::new(&pool);
    let huge = incompressible(12_000);
    let mut member = members.create(NewMember::fresh()).await.unwrap();

    member.change_nickname(Some(&huge));
    let err = members.update(&mut member).await.unwrap_err();
    let ModifyError::ServerLimitExceeded(limit) = &err else {
        panic!("{err:?}")
    };
    check_refusal(limit, &err.to_string());
    assert!(err.was_too_large() && !err.is_concurrent_modification());
    assert!(err.server_limit_exceeded().is_some());
    // Nothing stored; the event is still new on the entity.
    assert_eq!(
        stored_sequences(&pool, "member_events", member.id).await,
        [1]
    );
    assert_eq!(member_row(&pool, member.id).await.nickname, None);
    assert_eq!(member.events().len_new(), 1);

    let err = members.update_unchecked(&mut member).await.unwrap_err();
    let UncheckedModifyError::ServerLimitExceeded(limit) = &err else {
        panic!("{err:?}")
    };
    check_refusal(limit, &err.to_string());
    assert!(err.was_too_large());
    assert_eq!(
        stored_sequences(&pool, "member_events", member.id).await,
        [1]
    );

    // The same member, reloaded and changed within the limit, is written.
    let short = unique("nick");
    let mut member = members.find_by_id(member.id).await.unwrap();
    member.change_nickname(Some(&short));
    members.update(&mut member).await.unwrap();
    assert_eq!(member_row(&pool, member.id).await.nickname, Some(short));
}

/// The largest string jsonb holds, in bytes (`JENTRY_OFFLENMASK`).
const JSONB_MAX_STRING: usize = 268_435_455;

/// A bulk write of two members, one of whose new `Noted` events holds a
/// string of 268,435,456 bytes, one past jsonb's limit: the server refuses
/// the events' parameter while reading it ("string too long to represent
/// as jsonb string", 54000), before the statement runs. It sends some 256
/// MiB: about 13 s in a debug build on two cores (serializing and checking
/// the event in the client, parsing it in the server), about 1.1 GB peak in
/// the client (the string, the event's JSON, the encoded parameter and
/// sqlx's message buffer).
#[tokio::test]
async fn an_event_string_past_jsonbs_limit_is_refused_on_update_all() {
    let pool = es_entity_tests::pool_with_size(1).await;
    let members = Members::new(&pool);
    let created = members
        .create_all(vec![NewMember::fresh(), NewMember::fresh()])
        .await
        .unwrap();
    let [mut small, mut big]: [Member; 2] = created.try_into().unwrap();
    let start = Instant::now();

    // ANCHOR: update_all
    small.note("a note of ordinary size");
    big.note(&"x".repeat(JSONB_MAX_STRING + 1));
    let mut batch = [small, big];
    let err = members.update_all(&mut batch).await.unwrap_err();
    let ModifyError::ServerLimitExceeded(limit) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(limit.sqlstate, "54000");
    // Nothing of the batch was stored: both still have one event.
    for member in &batch {
        assert_eq!(
            stored_sequences(&pool, "member_events", member.id).await,
            [1]
        );
    }
    // ANCHOR_END: update_all
    check_refusal(limit, &err.to_string());
    assert!(err.was_too_large());
    eprintln!("update_all refused after {:?}: {err}", start.elapsed());

    // Without the oversized member, the batch is written on the same
    // connection.
    let [mut small, big] = batch;
    drop(big);
    assert_eq!(
        members
            .update_all(std::slice::from_mut(&mut small))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        stored_sequences(&pool, "member_events", small.id).await,
        [1, 2]
    );
}

/// A nested child's refusal, seen through the parent's error: an order's
/// new line whose `sku` (in the unique index `lines_order_sku_key`) is
/// 12,000 incompressible characters.
#[tokio::test]
async fn a_nested_childs_refusal_is_seen_through_the_parents_error() {
    let pool = es_entity_tests::pool_with_size(1).await;
    let orders = Orders::new(&pool);
    let mut order = orders
        .create(NewOrder {
            id: OrderId::new(),
            customer: unique("customer"),
        })
        .await
        .unwrap();
    order.add_line(incompressible(12_000), 1);
    let err = orders.update(&mut order).await.unwrap_err();
    let ModifyError::Nested(nested) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((nested.field, nested.operation), ("lines", "create"));
    assert!(err.was_too_large());
    let limit = err.server_limit_exceeded().expect("the child's refusal");
    assert_eq!(limit.sqlstate, "54000");
    let lines: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM lines WHERE order_id = $1")
        .bind(uuid::Uuid::from(order.id))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(lines, 0);
}
