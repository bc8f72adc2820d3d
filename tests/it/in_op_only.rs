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
