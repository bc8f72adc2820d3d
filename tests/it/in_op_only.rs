//! `#[es_repo(in_op_only)]`: only the `_in_op` variants exist, so every
//! call runs in a connection the caller passes (tests/ui/es_repo/
//! in_op_only_has_no_pool_variant.rs shows `create` is gone).

use es_entity::*;
use sqlx::PgPool;

use crate::create_or_find::{Handle, HandleEvent, HandleId, NewHandle};
use crate::repo_fixtures::unique;

// ANCHOR: repo
#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Handle",
    tbl = "handles",
    events_tbl = "handle_events",
    delete = "soft",
    columns(handle(ty = "String", unique), email(ty = "Option<String>", unique)),
    in_op_only
)]
pub struct TxHandles {
    pub(crate) pool: PgPool,
}
// ANCHOR_END: repo

#[tokio::test]
async fn every_call_takes_the_callers_connection() {
    let pool = es_entity_tests::pool().await;
    let repo = TxHandles { pool: pool.clone() };
    let name = unique("tx");
    let mut op = repo.begin_op().await.unwrap();
    let created: Handle = repo
        .create_in_op(
            &mut op,
            NewHandle {
                id: HandleId::new(),
                handle: name.clone(),
                email: None,
            },
        )
        .await
        .unwrap();
    let found = repo.find_by_handle_in_op(&mut op, &name).await.unwrap();
    assert_eq!(found.id, created.id);
    // Reads also take a pool, as any `IntoOneTimeExecutor`.
    assert!(
        repo.maybe_find_by_id_in_op(&pool, created.id)
            .await
            .unwrap()
            .is_none()
    );
    op.commit().await.unwrap();
    assert!(
        repo.maybe_find_by_id_in_op(&pool, created.id)
            .await
            .unwrap()
            .is_some()
    );
}

/// A parent of nested children can be `in_op_only` too: its children's
/// writes and its tree reads run in the caller's transaction.
mod nested_parent {
    use es_entity::*;
    use sqlx::PgPool;

    use crate::nested::{Lines, NewOrder, Order, OrderEvent, OrderId};

    #[derive(EsRepo, Debug)]
    #[es_repo(
        entity = "Order",
        tbl = "orders",
        delete = "soft",
        columns(customer = "String"),
        in_op_only
    )]
    pub struct TxOrders {
        pool: PgPool,
        #[es_repo(nested)]
        lines: Lines,
    }

    #[tokio::test]
    async fn children_are_written_and_read_in_the_callers_transaction() {
        let pool = es_entity_tests::pool().await;
        let orders = TxOrders {
            pool: pool.clone(),
            lines: crate::nested::Orders::new(&pool).into_lines(),
        };
        let mut op = orders.begin_op().await.unwrap();
        let mut order: Order = orders
            .create_in_op(
                &mut op,
                NewOrder {
                    id: OrderId::new(),
                    customer: "tx".into(),
                },
            )
            .await
            .unwrap();
        order.add_line("apple", 2);
        order.add_line("pear", 1);
        assert_eq!(orders.update_in_op(&mut op, &mut order).await.unwrap(), 2);
        order.add_line("plum", 1);
        let written = orders
            .update_expecting_in_op(&mut op, &mut order, ExpectedVersion::Exact(1))
            .await
            .unwrap();
        assert_eq!(written, 1);
        let found = orders.find_by_id_in_op(&mut op, order.id).await.unwrap();
        assert_eq!(found.line_count(), 3);
        // Nothing is visible outside the transaction before it commits.
        assert!(
            orders
                .maybe_find_by_id_in_op(&pool, order.id)
                .await
                .unwrap()
                .is_none()
        );
        op.commit().await.unwrap();
        let found = orders.find_by_id_in_op(&pool, order.id).await.unwrap();
        assert_eq!(found.line_count(), 3);
    }
}
