//! `es_query!` finds the events table of prefixed and custom-named tables.

use es_entity::*;

use crate::repo_fixtures::*;

#[tokio::test]
async fn tbl_prefix_selects_the_prefixed_events_table() {
    let pool = es_entity_tests::pool().await;
    let gizmos = Gizmos::new(&pool);
    let label = unique("gizmo");
    let id = GizmoId::new();
    gizmos
        .create(NewGizmo {
            id,
            label: label.clone(),
        })
        .await
        .unwrap();
    let found = gizmos.labelled(&label).await.unwrap().expect("found");
    assert_eq!(found.id, id);
    assert_eq!(found.events().len_persisted(), 1);
    assert!(gizmos.labelled(&unique("none")).await.unwrap().is_none());
}

#[tokio::test]
async fn a_custom_events_table_keeps_the_query_order() {
    let pool = es_entity_tests::pool().await;
    let parcels = Parcels::new(&pool);
    // A weight range of its own: 10 grams somewhere in 1e9..2e9, fresh per run.
    let random = uuid::Uuid::new_v4().as_u128() % 100_000_000;
    let base = 1_000_000_000 + 10 * random as i32;
    let mut ids = Vec::new();
    for w in [base + 2, base + 3, base + 1] {
        let id = ParcelNo::new();
        let new = NewParcel {
            id,
            tracking: unique("trk"),
            weight_grams: w,
        };
        parcels.create(new).await.unwrap();
        ids.push((w, id));
    }
    ids.sort_by_key(|(w, _)| std::cmp::Reverse(*w));
    let (page, more) = parcels.weighing_between(base, base + 9, 2).await.unwrap();
    let got: Vec<_> = page.iter().map(|p| p.id).collect();
    assert_eq!(got, [ids[0].1, ids[1].1]);
    assert!(more);
}
