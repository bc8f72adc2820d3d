//! Savepoints and commit hooks (book/src/transactions.md): a failed write in
//! a savepoint leaves the caller's transaction usable; hooks run before and
//! after `COMMIT`, merge, and vanish with a rollback.

use std::sync::{Arc, Mutex};

use es_entity::*;
use sqlx::PgPool;
use uuid::Uuid;

use crate::feed::BoxError;
use crate::quickstart::{NewUser, UserCreateError, UserId, Users};
use crate::repo_fixtures::unique;

fn new_user(name: &str) -> NewUser {
    NewUser {
        id: UserId::new(),
        name: name.to_owned(),
    }
}

// ANCHOR: with_savepoint
/// Creates `wanted` and, in the same transaction, tries `maybe`: a taken
/// name is only skipped, the rest of the transaction commits.
pub async fn create_pair(users: &Users, wanted: NewUser, maybe: NewUser) -> Result<bool, BoxError> {
    let mut op = users.begin_op().await?;
    users.create_in_op(&mut op, wanted).await?;
    let second = op
        .with_savepoint(async |sp| users.create_in_op(sp, maybe).await)
        .await;
    let created = match second {
        Ok(_) => true,
        Err(e) if e.was_duplicate() => false, // rolled back to the savepoint
        Err(e) => return Err(e.into()),
    };
    op.commit().await?; // `op` is still usable
    Ok(created)
}
// ANCHOR_END: with_savepoint

#[tokio::test]
async fn a_failed_write_in_a_savepoint_leaves_the_transaction_usable() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let users = Users::new(pool.clone());
    let taken = unique("taken");
    users.create(new_user(&taken)).await?;

    let first = new_user(&unique("first"));
    let first_id = first.id;
    assert!(!create_pair(&users, first, new_user(&taken)).await?);
    users.find_by_id(first_id).await?; // committed with the skipped one

    let (a, b) = (new_user(&unique("a")), new_user(&unique("b")));
    let b_id = b.id;
    assert!(create_pair(&users, a, b).await?);
    users.find_by_id(b_id).await?;
    Ok(())
}

#[tokio::test]
async fn without_a_savepoint_the_same_failure_spoils_the_transaction() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let users = Users::new(pool.clone());
    let taken = unique("taken");
    users.create(new_user(&taken)).await?;

    let mut op = users.begin_op().await?;
    let err = users
        .create_in_op(&mut op, new_user(&taken))
        .await
        .unwrap_err();
    assert!(err.was_duplicate());
    let after = users
        .create_in_op(&mut op, new_user(&unique("late")))
        .await
        .unwrap_err();
    // 25P02: in_failed_sql_transaction
    assert!(
        matches!(&after, UserCreateError::Sqlx(e) if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("25P02")),
        "{after:?}"
    );
    Ok(())
}

// ANCHOR: guard
async fn note(op: &mut impl AtomicOperation, id: Uuid, text: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO probes (id, note, recorded_at) VALUES ($1, $2, NOW())")
        .bind(id)
        .bind(text)
        .execute(op.as_executor())
        .await?;
    Ok(())
}

#[tokio::test]
async fn savepoint_guards_release_roll_back_and_drop() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let (kept, undone, dropped) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());

    // Any transaction: here a plain sqlx one.
    let mut tx = pool.begin().await?;
    let mut sp = tx.begin_savepoint().await?;
    note(&mut sp, kept, "kept").await?;
    sp.release().await?;

    let mut sp = tx.begin_savepoint().await?;
    note(&mut sp, undone, "undone").await?;
    sp.rollback().await?;

    {
        let mut sp = tx.begin_savepoint().await?;
        note(&mut sp, dropped, "dropped").await?;
    } // dropped without release: rolled back
    tx.commit().await?;
    // ANCHOR_END: guard

    assert_eq!(stored(&pool, &[kept, undone, dropped]).await, [kept]);
    Ok(())
}

async fn stored(pool: &PgPool, ids: &[Uuid]) -> Vec<Uuid> {
    let mut found: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM probes WHERE id = ANY($1)")
        .bind(ids)
        .fetch_all(pool)
        .await
        .unwrap();
    found.sort();
    found
}

#[tokio::test]
async fn savepoints_nest_and_work_through_every_operation_type() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let ids: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();

    let mut op = DbOp::init(&pool).await?.with_db_time().await?;
    let outcome: Result<(), sqlx::Error> = op
        .with_savepoint(async |outer| {
            note(outer, ids[0], "outer").await?;
            let inner: Result<(), sqlx::Error> = outer
                .with_savepoint(async |inner| {
                    note(inner, ids[1], "inner").await?;
                    note(inner, ids[0], "duplicate id").await // fails: 23505
                })
                .await;
            assert!(inner.is_err());
            // `&mut O` is an operation too.
            let mut by_ref: &mut Savepoint<'_> = outer;
            with_savepoint(&mut by_ref, async |sp| note(sp, ids[2], "by ref").await).await
        })
        .await;
    outcome?;
    note(&mut op, ids[3], "after").await?;
    op.commit().await?;

    let mut want = vec![ids[0], ids[2], ids[3]];
    want.sort();
    assert_eq!(stored(&pool, &ids).await, want);
    Ok(())
}

// ANCHOR: hooks
/// Collects the ids written in one transaction: the rows go to an outbox
/// table just before `COMMIT` (one row for the whole transaction), and the
/// message is "published" after it.
pub struct Outbox {
    ids: Vec<Uuid>,
    published: Arc<Mutex<Vec<Vec<Uuid>>>>,
}

impl CommitHook for Outbox {
    async fn pre_commit(&mut self, op: &mut impl AtomicOperation) -> Result<(), HookError> {
        sqlx::query("INSERT INTO probes (id, note, recorded_at) VALUES ($1, $2, NOW())")
            .bind(Uuid::now_v7())
            .bind(format!("outbox: {} ids", self.ids.len()))
            .execute(op.as_executor())
            .await?;
        Ok(())
    }

    async fn post_commit(self) {
        self.published.lock().unwrap().push(self.ids);
    }

    fn merge(&mut self, other: Self) -> Option<Self> {
        self.ids.extend(other.ids);
        None
    }
}

/// Writes a note and queues its id for the outbox.
async fn noted(
    op: &mut impl AtomicOperation,
    id: Uuid,
    published: &Arc<Mutex<Vec<Vec<Uuid>>>>,
) -> Result<(), BoxError> {
    note(op, id, "noted").await?;
    let hook = Outbox {
        ids: vec![id],
        published: published.clone(),
    };
    if op.add_commit_hook(hook).is_err() {
        return Err("this operation keeps no commit hooks".into());
    }
    Ok(())
}
// ANCHOR_END: hooks

#[tokio::test]
async fn hooks_merge_run_around_commit_and_not_after_a_rollback() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let published = Arc::new(Mutex::new(Vec::new()));

    // ANCHOR: hooks_use
    let ids: Vec<Uuid> = (0..10).map(|_| Uuid::now_v7()).collect();
    let mut op = DbOp::init(&pool).await?;
    for id in &ids {
        noted(&mut op, *id, &published).await?;
    }
    assert!(
        published.lock().unwrap().is_empty(),
        "nothing before commit"
    );
    op.commit().await?;
    assert_eq!(published.lock().unwrap()[..], [ids], "one message");
    // ANCHOR_END: hooks_use
    let outbox: i64 =
        sqlx::query_scalar("SELECT count(*) FROM probes WHERE note = 'outbox: 10 ids'")
            .fetch_one(&pool)
            .await?;
    assert!(outbox >= 1, "the pre-commit hook wrote in the transaction");

    // A rollback drops them.
    published.lock().unwrap().clear();
    let mut op = DbOp::init(&pool).await?;
    noted(&mut op, Uuid::now_v7(), &published).await?;
    op.rollback().await?;
    let mut op = DbOp::init(&pool).await?;
    noted(&mut op, Uuid::now_v7(), &published).await?;
    drop(op);
    assert!(published.lock().unwrap().is_empty());

    // A plain sqlx transaction has nowhere to keep them.
    let mut tx = pool.begin().await?;
    let refused = noted(&mut tx, Uuid::now_v7(), &published).await;
    assert!(refused.is_err());
    Ok(())
}

#[tokio::test]
async fn hooks_follow_their_savepoint() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let published = Arc::new(Mutex::new(Vec::new()));
    let (outer, released, undone, nested) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );

    let mut op = DbOp::init(&pool).await?;
    noted(&mut op, outer, &published).await?;
    let mut sp = op.begin_savepoint().await?;
    noted(&mut sp, released, &published).await?;
    sp.release().await?;
    let mut sp = op.begin_savepoint().await?;
    noted(&mut sp, undone, &published).await?;
    sp.rollback().await?;
    // A nested DbOp (`begin`) hands its hooks up on commit.
    let mut inner = op.begin().await?;
    noted(&mut inner, nested, &published).await?;
    inner.commit().await?;
    op.commit().await?;

    assert_eq!(*published.lock().unwrap(), [vec![outer, released, nested]]);
    Ok(())
}

/// Runs in the order hooks were first added; `First` fails when told to.
struct First {
    log: Arc<Mutex<Vec<&'static str>>>,
    fail: bool,
}
struct Second {
    log: Arc<Mutex<Vec<&'static str>>>,
}

#[derive(Debug)]
struct Refused;
impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused")
    }
}
impl std::error::Error for Refused {}

impl CommitHook for First {
    async fn pre_commit(&mut self, _op: &mut impl AtomicOperation) -> Result<(), HookError> {
        self.log.lock().unwrap().push("first: pre");
        if self.fail {
            return Err(Box::new(Refused));
        }
        Ok(())
    }
    async fn post_commit(self) {
        self.log.lock().unwrap().push("first: post");
    }
    fn merge(&mut self, other: Self) -> Option<Self> {
        self.fail |= other.fail;
        None
    }
}

impl CommitHook for Second {
    async fn pre_commit(&mut self, _op: &mut impl AtomicOperation) -> Result<(), HookError> {
        self.log.lock().unwrap().push("second: pre");
        Ok(())
    }
    async fn post_commit(self) {
        self.log.lock().unwrap().push("second: post");
    }
}

#[tokio::test]
async fn hook_order_and_a_failing_pre_commit_hook() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let log = Arc::new(Mutex::new(Vec::new()));
    let first = |fail| First {
        log: log.clone(),
        fail,
    };

    let mut op = DbOp::init(&pool).await?;
    assert!(op.add_commit_hook(first(false)).is_ok());
    assert!(op.add_commit_hook(Second { log: log.clone() }).is_ok());
    assert!(op.add_commit_hook(first(false)).is_ok()); // merged into the first
    op.commit().await?;
    assert_eq!(
        *log.lock().unwrap(),
        ["first: pre", "second: pre", "first: post", "second: post"]
    );

    // A failing pre-commit hook: typed error, rolled back, no post-commit.
    log.lock().unwrap().clear();
    let id = Uuid::now_v7();
    let mut op = DbOp::init(&pool).await?;
    note(&mut op, id, "never").await?;
    op.add_commit_hook(Second { log: log.clone() }).ok();
    op.add_commit_hook(first(true)).ok();
    match op.commit().await {
        Err(CommitError::PreCommitHook { hook, source }) => {
            assert!(hook.ends_with("First"), "{hook}");
            assert!(source.downcast_ref::<Refused>().is_some());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(*log.lock().unwrap(), ["second: pre", "first: pre"]);
    assert!(stored(&pool, &[id]).await.is_empty(), "rolled back");
    Ok(())
}

#[tokio::test]
async fn post_commit_hooks_never_run_for_a_failed_commit() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut op = DbOp::init(&pool).await?;
    // A constraint checked at COMMIT: the commit itself fails.
    sqlx::query(
        "CREATE TEMP TABLE deferred (x INT UNIQUE DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP",
    )
    .execute(op.as_executor())
    .await?;
    sqlx::query("INSERT INTO deferred VALUES (1), (1)")
        .execute(op.as_executor())
        .await?;
    op.add_commit_hook(Second { log: log.clone() }).ok();
    match op.commit().await {
        Err(CommitError::Sqlx(e)) => {
            assert_eq!(
                e.as_database_error().and_then(|d| d.code()).as_deref(),
                Some("23505")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(*log.lock().unwrap(), ["second: pre"], "no post-commit");
    Ok(())
}
