//! Inline projections that fail: a hook that refuses, a hook whose
//! statement fails, a COMMIT that fails after the hook, a lost race, and
//! the same inside a caller's transaction. Whatever fails, nothing of the
//! write is stored (or, inside a caller's transaction, nothing once the
//! caller rolls back), and the entity's events are new again.

use es_entity::*;

use crate::inline_projection::*;
use crate::repo_fixtures::{stored_sequences, unique};

// ANCHOR: failing_hook
#[tokio::test]
async fn a_failing_hook_rolls_the_write_back() {
    let pool = es_entity_tests::pool().await;
    let products = Products::new(&pool);
    let mut product = products
        .create(NewProduct::new(&unique("chair"), 5))
        .await
        .unwrap();

    product.sell(8);
    let err = products.update(&mut product).await.unwrap_err();
    let hook = err.post_persist_hook_error().expect("the hook failed");
    assert_eq!(hook.hook(), "project");
    assert!(matches!(
        hook.downcast_ref::<ProjectionError>(),
        Some(ProjectionError::Oversold { in_stock: -3, .. })
    ));
    // Nothing of the write is stored, and its event is new again.
    assert_eq!(
        stored_sequences(&pool, "product_events", product.id).await,
        [1, 2]
    );
    assert_eq!(stock_row(&pool, product.id).await.unwrap().1, 5);
    assert_eq!(product.events().len_new(), 1);

    // So the command can be completed and saved as it stands.
    product.restock(10);
    assert_eq!(products.update(&mut product).await.unwrap(), 2);
    assert_eq!(stock_row(&pool, product.id).await.unwrap().1, 7);
}
// ANCHOR_END: failing_hook

#[tokio::test]
async fn a_hook_whose_statement_fails_rolls_the_write_back() {
    let pool = es_entity_tests::pool().await;
    let products = Products::new(&pool);

    // The read model refuses an empty name (a CHECK constraint), which the
    // index table allows: the hook's statement fails, and so does the create.
    let new = NewProduct::new("", 1);
    let id = new.id;
    let err = products.create(new).await.unwrap_err();
    let ProjectionError::Sqlx(db) = projection_error(err.post_persist_hook_error()) else {
        panic!("{err:?}");
    };
    let code = db.as_database_error().and_then(|d| d.code());
    assert_eq!(code.as_deref(), Some("23514"), "{db:?}");
    assert!(
        err.to_string()
            .starts_with("creating Product: post-persist hook `project` failed")
    );
    assert_nothing_stored(&pool, id).await;

    let mut product = products
        .create(NewProduct::new(&unique("table"), 1))
        .await
        .unwrap();
    let name = product.name.clone();
    product.rename("");
    let err = products.update(&mut product).await.unwrap_err();
    assert!(matches!(err, ModifyError::PostPersistHook(_)), "{err:?}");
    assert!(!err.is_concurrent_modification());
    assert_eq!(index_name(&pool, product.id).await, Some(name));
    assert_eq!(
        stored_sequences(&pool, "product_events", product.id).await,
        [1, 2]
    );
}

#[tokio::test]
async fn every_write_that_fails_in_its_hook_stores_nothing() {
    let pool = es_entity_tests::pool().await;
    let products = Products::new(&pool);

    // create_all: one refused member fails the batch.
    let news = vec![
        NewProduct::new(&unique("ok"), 1),
        NewProduct::new(&unique("bad"), -1),
    ];
    let ids: Vec<_> = news.iter().map(|n| n.id).collect();
    let err = products.create_all(news).await.unwrap_err();
    assert!(matches!(
        projection_error(err.post_persist_hook_error()),
        ProjectionError::Oversold { .. }
    ));
    for id in ids {
        assert_nothing_stored(&pool, id).await;
    }

    // update_all: one refused member fails the batch; every entity's
    // events are new again.
    let mut batch = products
        .create_all(vec![
            NewProduct::new(&unique("x"), 1),
            NewProduct::new(&unique("y"), 1),
        ])
        .await
        .unwrap();
    batch[0].sell(1);
    batch[1].sell(2);
    let err = products.update_all(&mut batch).await.unwrap_err();
    assert!(err.post_persist_hook_error().is_some(), "{err:?}");
    for product in &batch {
        assert_eq!(
            stored_sequences(&pool, "product_events", product.id).await,
            [1, 2]
        );
        assert_eq!(stock_row(&pool, product.id).await.unwrap().1, 1);
        assert_eq!(product.events().len_new(), 1);
    }

    // update_expecting, checked and unchecked, and update_unchecked.
    let product = &mut batch[1];
    let err = products
        .update_expecting(product, ExpectedVersion::Exact(2))
        .await
        .unwrap_err();
    assert!(err.post_persist_hook_error().is_some(), "{err:?}");
    let err = products
        .update_expecting(product, ExpectedVersion::Any)
        .await
        .unwrap_err();
    assert!(err.post_persist_hook_error().is_some(), "{err:?}");
    let err = products.update_unchecked(product).await.unwrap_err();
    assert!(
        matches!(err, UncheckedModifyError::PostPersistHook(_)),
        "{err:?}"
    );
    assert_eq!(
        stored_sequences(&pool, "product_events", product.id).await,
        [1, 2]
    );
    assert_eq!(product.events().len_new(), 1);

    // delete: the product is gone only if its hook succeeds.
    let mut doomed = products.find_by_id(product.id).await.unwrap();
    doomed.sell(5);
    doomed.discontinue();
    let err = products.delete(doomed).await.unwrap_err();
    assert!(err.post_persist_hook_error().is_some(), "{err:?}");
    assert!(
        products
            .maybe_find_by_id(product.id)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_commit_that_fails_after_the_hook_leaves_the_events_new() {
    let pool = es_entity_tests::pool().await;
    let products = Products::new(&pool);

    // A deferred check on the read model fires at COMMIT, after the
    // statement and the hook succeeded.
    let new = NewProduct::new("refused at commit", 1);
    let id = new.id;
    let err = products.create(new).await.unwrap_err();
    assert!(matches!(err, CreateError::Sqlx(_)), "{err:?}");
    assert_nothing_stored(&pool, id).await;

    let mut product = products
        .create(NewProduct::new(&unique("stool"), 1))
        .await
        .unwrap();
    product.rename("refused at commit");
    let err = products.update(&mut product).await.unwrap_err();
    assert!(matches!(err, ModifyError::Sqlx(_)), "{err:?}");
    assert_eq!(
        stored_sequences(&pool, "product_events", product.id).await,
        [1, 2]
    );
    assert_eq!(product.events().len_new(), 1);

    product.rename(&unique("stool"));
    assert_eq!(products.update(&mut product).await.unwrap(), 2);
    assert_eq!(
        outbox(&pool, product.id).await,
        events(&pool, product.id).await
    );
}

#[tokio::test]
async fn a_lost_race_runs_no_hook() {
    let pool = es_entity_tests::pool().await;
    let products = Products::new(&pool);
    let product = products
        .create(NewProduct::new(&unique("mug"), 5))
        .await
        .unwrap();
    let mut a = products.find_by_id(product.id).await.unwrap();
    let mut b = products.find_by_id(product.id).await.unwrap();
    a.sell(1);
    products.update(&mut a).await.unwrap();
    b.sell(2);
    let err = products.update(&mut b).await.unwrap_err();
    // The pool variant read the actual version after rolling back.
    assert_eq!(err.conflict_versions(), Some((2, Some(3))));
    assert_eq!(stock_row(&pool, product.id).await.unwrap().1, 4);
    assert_eq!(
        outbox(&pool, product.id).await,
        events(&pool, product.id).await
    );
}

#[tokio::test]
async fn in_op_a_failing_hook_leaves_the_caller_to_roll_back() {
    let pool = es_entity_tests::pool().await;
    let products = Products::new(&pool);

    let mut op = products.begin_op().await.unwrap();
    let mut product = products
        .create_in_op(&mut op, NewProduct::new(&unique("rug"), 2))
        .await
        .unwrap();
    product.sell(3);
    let err = products
        .update_in_op(&mut op, &mut product)
        .await
        .unwrap_err();
    assert!(err.post_persist_hook_error().is_some(), "{err:?}");
    assert_eq!(product.events().len_new(), 1);
    drop(op);
    assert_nothing_stored(&pool, product.id).await;

    let mut op = products.begin_op().await.unwrap();
    let err = products
        .create_in_op(&mut op, NewProduct::new(&unique("rug"), -2))
        .await
        .unwrap_err();
    assert!(err.post_persist_hook_error().is_some(), "{err:?}");
    op.rollback().await.unwrap();

    let mut op = products.begin_op().await.unwrap();
    let mut product = products
        .create_in_op(&mut op, NewProduct::new(&unique("rug"), 2))
        .await
        .unwrap();
    product.sell(3);
    let err = products
        .update_unchecked_in_op(&mut op, &mut product)
        .await
        .unwrap_err();
    assert!(err.post_persist_hook_error().is_some(), "{err:?}");
    assert_eq!(product.events().len_new(), 1);
    op.rollback().await.unwrap();
    assert_nothing_stored(&pool, product.id).await;
}
