//! EsRepo core: `create`, `update`, `find_by_*`, `maybe_find_by_*`, the
//! `_in_op` variants and the time a `DbOpWithTime` records.

use chrono::{DateTime, TimeZone, Utc};
use es_entity::*;
use uuid::Uuid;

use crate::repo_fixtures::*;

fn fixed_time(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 7, 14, 9, minute, 5).unwrap()
        + chrono::Duration::microseconds(123_456)
}

#[tokio::test]
async fn create_returns_the_hydrated_entity_with_its_events_persisted() {
    let pool = es_entity_tests::pool().await;
    let tallies = Tallies::new(&pool);
    let new = NewTally::fresh(vec![2, 3, 5]);
    let (id, name) = (new.id, new.name.clone());

    let tally = tallies.create(new).await.expect("create");

    assert_eq!(tally.id, id);
    assert_eq!(tally.name, name);
    assert_eq!(tally.total, 10, "hydrated from all four initial events");
    let events = tally.events();
    assert_eq!(events.len_persisted(), 4);
    assert_eq!(events.len_new(), 0);
    assert!(!events.any_new());
    let sequences: Vec<usize> = events.iter_persisted().map(|e| e.sequence).collect();
    assert_eq!(sequences, [1, 2, 3, 4]);
    assert!(events.iter_persisted().all(|e| e.entity_id == id));

    // The database holds exactly those events, at the time the entity reports.
    let stored = stored_events(&pool, "tally_events", id).await;
    assert_eq!(
        stored
            .iter()
            .map(|(s, t, _)| (*s, t.as_str()))
            .collect::<Vec<_>>(),
        [
            (1, "started"),
            (2, "counted"),
            (3, "counted"),
            (4, "counted")
        ]
    );
    let first = events
        .entity_first_persisted_at()
        .expect("first persisted at");
    assert!(
        stored.iter().all(|(_, _, at)| *at == first),
        "one write, one time"
    );
    assert_eq!(events.entity_last_modified_at(), Some(first));
    let created_at: DateTime<Utc> =
        sqlx::query_scalar("SELECT created_at FROM tallies WHERE id = $1")
            .bind(Uuid::from(id))
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        created_at, first,
        "index created_at is the first event's recorded_at"
    );
    let age = Utc::now() - first;
    assert!(age < chrono::Duration::minutes(5) && age > -chrono::Duration::minutes(5));
}

#[tokio::test]
async fn create_writes_the_index_columns() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let mut new = NewMember::fresh();
    new.nickname = Some(unique("nick"));
    let expected = new.clone();

    let member = members.create(new).await.expect("create");

    assert_eq!(
        member.email, expected.email,
        "the entity keeps the email as typed"
    );
    let row = member_row(&pool, member.id).await;
    assert_eq!(
        row,
        MemberRow {
            created_at: member.events().entity_first_persisted_at().unwrap(),
            email: expected.email.to_lowercase(),
            nickname: expected.nickname,
            credit_limit: 100,
            region: expected.region,
            referral_code: expected.referral_code,
            tier: "basic".to_owned(),
        }
    );
}

#[tokio::test]
async fn update_returns_the_number_of_events_written() {
    let pool = es_entity_tests::pool().await;
    let tallies = Tallies::new(&pool);
    let mut tally = tallies.create(NewTally::fresh(vec![])).await.unwrap();

    tally.count(1);
    tally.count(10);
    tally.count(100);
    assert_eq!(tally.events().len_new(), 3);
    let written = tallies.update(&mut tally).await.expect("update");

    assert_eq!(written, 3);
    assert_eq!(tally.events().len_persisted(), 4);
    assert_eq!(tally.events().len_new(), 0);
    assert_eq!(
        tally
            .events()
            .iter_persisted()
            .map(|e| e.sequence)
            .collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(
        stored_sequences(&pool, "tally_events", tally.id).await,
        [1, 2, 3, 4]
    );

    // The in-memory recorded_at of the new events is what was stored.
    let stored = stored_events(&pool, "tally_events", tally.id).await;
    for (mem, (seq, _, at)) in tally.events().iter_persisted().zip(&stored) {
        assert_eq!(mem.sequence as i32, *seq);
        assert_eq!(mem.recorded_at, *at, "recorded_at of event {seq}");
    }
    assert!(stored[1].2 >= stored[0].2);

    // A fresh load agrees.
    let loaded = tallies.find_by_id(tally.id).await.unwrap();
    assert_eq!(loaded.total, 111);
    assert_eq!(loaded.events().len_persisted(), 4);

    // Further updates continue the sequence from the loaded entity.
    let mut loaded = loaded;
    loaded.count(1000);
    assert_eq!(tallies.update(&mut loaded).await.unwrap(), 1);
    assert_eq!(
        stored_sequences(&pool, "tally_events", tally.id).await,
        [1, 2, 3, 4, 5]
    );
    assert_eq!(tallies.find_by_id(tally.id).await.unwrap().total, 1111);
}

#[tokio::test]
async fn update_with_nothing_new_returns_zero_and_writes_nothing() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let mut member = members.create(NewMember::fresh()).await.unwrap();
    let before = member_row(&pool, member.id).await;

    assert_eq!(members.update(&mut member).await.unwrap(), 0);
    let mut op = members.begin_op().await.unwrap();
    assert_eq!(members.update_in_op(&mut op, &mut member).await.unwrap(), 0);
    op.commit().await.unwrap();

    // Changing a field without an event is not a change the repo sees.
    member.region = unique("silent");
    assert_eq!(members.update(&mut member).await.unwrap(), 0);

    assert_eq!(member.events().len_persisted(), 1);
    assert_eq!(
        stored_sequences(&pool, "member_events", member.id).await,
        [1]
    );
    assert_eq!(member_row(&pool, member.id).await, before);
}

#[tokio::test]
async fn update_writes_the_index_columns() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let mut member = members.create(NewMember::fresh()).await.unwrap();
    let created = member_row(&pool, member.id).await;

    let email = format!("{}@Mixed.Case", unique("New"));
    let nickname = unique("nick");
    let region = unique("region");
    member.change_email(&email);
    member.change_nickname(Some(&nickname));
    member.change_credit_limit(7);
    member.change_region(&region);
    member.upgrade_tier("gold");
    assert_eq!(members.update(&mut member).await.unwrap(), 5);

    let row = member_row(&pool, member.id).await;
    assert_eq!(row.email, email.to_lowercase());
    assert_eq!(row.nickname.as_deref(), Some(nickname.as_str()));
    assert_eq!(row.credit_limit, 7);
    assert_eq!(row.region, region);
    assert_eq!(row.tier, "gold");
    assert_eq!(
        row.created_at, created.created_at,
        "update leaves created_at alone"
    );

    // Back to NULL.
    member.change_nickname(None);
    assert_eq!(members.update(&mut member).await.unwrap(), 1);
    assert_eq!(member_row(&pool, member.id).await.nickname, None);
}

#[tokio::test]
async fn find_by_id_and_by_column() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let mut new = NewMember::fresh();
    new.nickname = Some(unique("nick"));
    let new_copy = new.clone();
    let mut member = members.create(new).await.unwrap();
    member.note("hello");
    members.update(&mut member).await.unwrap();

    let by_id = members.find_by_id(member.id).await.expect("find_by_id");
    assert_eq!(by_id.id, member.id);
    assert_eq!(by_id.email, new_copy.email);
    assert_eq!(by_id.events().len_persisted(), 2);
    assert_eq!(by_id.events().len_new(), 0);
    let times = |m: &Member| {
        m.events()
            .iter_persisted()
            .map(|e| e.recorded_at)
            .collect::<Vec<_>>()
    };
    assert_eq!(times(&by_id), times(&member));

    // By reference too (`impl Borrow<T>`).
    assert_eq!(members.find_by_id(&member.id).await.unwrap().id, member.id);

    let key = new_copy.email.to_lowercase();
    assert_eq!(members.find_by_email(&key).await.unwrap().id, member.id);
    assert_eq!(
        members.find_by_email(key.clone()).await.unwrap().id,
        member.id
    );
    assert!(
        members
            .find_by_email(&new_copy.email)
            .await
            .unwrap_err()
            .was_not_found(),
        "the index stores the accessor's value (lower-cased), not the field"
    );
    assert_eq!(
        members.find_by_region(&new_copy.region).await.unwrap().id,
        member.id
    );
    assert_eq!(
        members
            .find_by_referral_code(&new_copy.referral_code)
            .await
            .unwrap()
            .id,
        member.id
    );

    // maybe_find_by_*: Some / None.
    let some = members.maybe_find_by_id(member.id).await.unwrap();
    assert_eq!(some.map(|m| m.id), Some(member.id));
    assert!(
        members
            .maybe_find_by_id(MemberId::new())
            .await
            .unwrap()
            .is_none()
    );
    let some = members.maybe_find_by_email(&key).await.unwrap();
    assert_eq!(some.map(|m| m.id), Some(member.id));
    assert!(
        members
            .maybe_find_by_email(unique("nobody"))
            .await
            .unwrap()
            .is_none()
    );

    // find_by_* on a missing value: NotFound.
    let err = members.find_by_id(MemberId::new()).await.unwrap_err();
    assert!(err.was_not_found(), "{err:?}");
}

#[tokio::test]
async fn in_op_variants_accept_pool_transaction_db_op_and_db_op_with_time() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let member = members.create(NewMember::fresh()).await.unwrap();
    let key = member.normalized_email.clone();

    // &PgPool
    assert_eq!(
        members.find_by_id_in_op(&pool, member.id).await.unwrap().id,
        member.id
    );
    assert_eq!(
        members.find_by_email_in_op(&pool, &key).await.unwrap().id,
        member.id
    );
    assert!(
        members
            .maybe_find_by_id_in_op(&pool, MemberId::new())
            .await
            .unwrap()
            .is_none()
    );

    // &mut sqlx::Transaction
    let mut tx = pool.begin().await.unwrap();
    assert_eq!(
        members
            .find_by_id_in_op(&mut tx, member.id)
            .await
            .unwrap()
            .id,
        member.id
    );
    assert_eq!(
        members.find_by_email_in_op(&mut tx, &key).await.unwrap().id,
        member.id
    );
    let mut in_tx = members
        .maybe_find_by_email_in_op(&mut tx, &key)
        .await
        .unwrap()
        .unwrap();
    in_tx.note("via tx");
    assert_eq!(members.update_in_op(&mut tx, &mut in_tx).await.unwrap(), 1);
    let created_in_tx = members
        .create_in_op(&mut tx, NewMember::fresh())
        .await
        .unwrap();
    // Visible inside the transaction, not outside it yet.
    assert_eq!(
        members
            .find_by_id_in_op(&mut tx, created_in_tx.id)
            .await
            .unwrap()
            .id,
        created_in_tx.id
    );
    assert!(
        members
            .maybe_find_by_id(created_in_tx.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        members
            .find_by_id(member.id)
            .await
            .unwrap()
            .events()
            .len_persisted(),
        1
    );
    tx.commit().await.unwrap();
    assert_eq!(
        members
            .find_by_id(member.id)
            .await
            .unwrap()
            .events()
            .len_persisted(),
        2
    );
    assert!(
        members
            .maybe_find_by_id(created_in_tx.id)
            .await
            .unwrap()
            .is_some()
    );

    // &mut DbOp
    let mut op = DbOp::init(&pool).await.unwrap();
    let mut in_op = members.find_by_id_in_op(&mut op, member.id).await.unwrap();
    assert!(
        members
            .maybe_find_by_region_in_op(&mut op, unique("none"))
            .await
            .unwrap()
            .is_none()
    );
    in_op.note("via op");
    assert_eq!(members.update_in_op(&mut op, &mut in_op).await.unwrap(), 1);
    op.commit().await.unwrap();
    assert_eq!(
        stored_sequences(&pool, "member_events", member.id).await,
        [1, 2, 3]
    );

    // &mut DbOpWithTime
    let t = fixed_time(1);
    let mut op = DbOp::init(&pool).await.unwrap().with_time(t);
    let mut timed = members.find_by_email_in_op(&mut op, &key).await.unwrap();
    timed.note("via timed op");
    assert_eq!(members.update_in_op(&mut op, &mut timed).await.unwrap(), 1);
    op.commit().await.unwrap();
    let stored = stored_events(&pool, "member_events", member.id).await;
    assert_eq!(stored.last().unwrap().0, 4);
    assert_eq!(stored.last().unwrap().2, t);
}

#[tokio::test]
async fn db_op_with_time_sets_created_at_and_recorded_at_exactly() {
    let pool = es_entity_tests::pool().await;
    let tallies = Tallies::new(&pool);
    let t1 = fixed_time(10);
    let t2 = fixed_time(20);

    let mut op = tallies.begin_op().await.unwrap().with_time(t1);
    let mut tally = tallies
        .create_in_op(&mut op, NewTally::fresh(vec![1, 1]))
        .await
        .unwrap();
    op.commit().await.unwrap();

    assert_eq!(tally.events().entity_first_persisted_at(), Some(t1));
    assert!(tally.events().iter_persisted().all(|e| e.recorded_at == t1));
    let created_at: DateTime<Utc> =
        sqlx::query_scalar("SELECT created_at FROM tallies WHERE id = $1")
            .bind(Uuid::from(tally.id))
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(created_at, t1);
    let stored = stored_events(&pool, "tally_events", tally.id).await;
    assert_eq!(
        stored.iter().map(|(_, _, at)| *at).collect::<Vec<_>>(),
        [t1, t1, t1]
    );

    let mut op = DbOp::init(&pool).await.unwrap().with_time(t2);
    tally.count(5);
    tally.count(6);
    assert_eq!(tallies.update_in_op(&mut op, &mut tally).await.unwrap(), 2);
    op.commit().await.unwrap();

    assert_eq!(tally.events().entity_first_persisted_at(), Some(t1));
    assert_eq!(tally.events().entity_last_modified_at(), Some(t2));
    let stored = stored_events(&pool, "tally_events", tally.id).await;
    assert_eq!(
        stored.iter().map(|(_, _, at)| *at).collect::<Vec<_>>(),
        [t1, t1, t1, t2, t2]
    );
    let created_after: DateTime<Utc> =
        sqlx::query_scalar("SELECT created_at FROM tallies WHERE id = $1")
            .bind(Uuid::from(tally.id))
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(created_after, t1, "update does not move created_at");

    let loaded = tallies.find_by_id(tally.id).await.unwrap();
    assert_eq!(loaded.events().entity_first_persisted_at(), Some(t1));
    assert_eq!(loaded.events().entity_last_modified_at(), Some(t2));
}

#[tokio::test]
async fn db_op_with_db_time_records_the_database_clock_once() {
    let pool = es_entity_tests::pool().await;
    let tallies = Tallies::new(&pool);
    let op = DbOp::init(&pool).await.unwrap();
    let mut op = op.with_db_time().await.unwrap();
    let now = op.now();
    let mut a = tallies
        .create_in_op(&mut op, NewTally::fresh(vec![]))
        .await
        .unwrap();
    let b = tallies
        .create_in_op(&mut op, NewTally::fresh(vec![]))
        .await
        .unwrap();
    a.count(1);
    tallies.update_in_op(&mut op, &mut a).await.unwrap();
    op.commit().await.unwrap();

    assert_eq!(a.events().entity_first_persisted_at(), Some(now));
    assert_eq!(a.events().entity_last_modified_at(), Some(now));
    assert_eq!(b.events().entity_first_persisted_at(), Some(now));
    let stored = stored_events(&pool, "tally_events", a.id).await;
    assert_eq!(
        stored.iter().map(|(_, _, at)| *at).collect::<Vec<_>>(),
        [now, now]
    );
}

#[tokio::test]
async fn plain_transaction_writes_use_the_transaction_clock() {
    // Without a cached time, every statement records NOW(), which PostgreSQL
    // fixes at the start of the transaction: two writes in one transaction share it.
    let pool = es_entity_tests::pool().await;
    let tallies = Tallies::new(&pool);
    let mut tx = pool.begin().await.unwrap();
    let tx_now: DateTime<Utc> = sqlx::query_scalar("SELECT NOW()")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let mut a = tallies
        .create_in_op(&mut tx, NewTally::fresh(vec![]))
        .await
        .unwrap();
    a.count(1);
    tallies.update_in_op(&mut tx, &mut a).await.unwrap();
    tx.commit().await.unwrap();
    assert!(a.events().iter_persisted().all(|e| e.recorded_at == tx_now));
    let stored = stored_events(&pool, "tally_events", a.id).await;
    assert_eq!(
        stored.iter().map(|(_, _, at)| *at).collect::<Vec<_>>(),
        [tx_now, tx_now]
    );
}
