//! EsRepo options: accessors, `persist = false`, table names, nullable
//! columns, repositories without updatable columns, the generated column enum.

use es_entity::*;
use uuid::Uuid;

use crate::repo_fixtures::*;

#[tokio::test]
async fn create_accessor_is_a_method_of_the_new_value() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let new = NewMember::fresh();
    let typed = new.email.clone();
    assert_ne!(
        typed,
        typed.to_lowercase(),
        "the fixture email has upper case letters"
    );

    let member = members.create(new).await.unwrap();

    assert_eq!(member.email, typed, "the event keeps what was typed");
    assert_eq!(
        member_row(&pool, member.id).await.email,
        typed.to_lowercase()
    );
    assert_eq!(
        members
            .find_by_email(typed.to_lowercase())
            .await
            .unwrap()
            .id,
        member.id
    );
}

#[tokio::test]
async fn update_accessor_reads_another_field_of_the_entity() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let mut member = members.create(NewMember::fresh()).await.unwrap();

    let typed = format!("{}@UPPER.example", unique("Changed"));
    member.change_email(&typed);
    members.update(&mut member).await.unwrap();

    assert_eq!(
        member_row(&pool, member.id).await.email,
        typed.to_lowercase()
    );
    let loaded = members.find_by_email(typed.to_lowercase()).await.unwrap();
    assert_eq!(loaded.id, member.id);
    assert_eq!(loaded.email, typed);
}

/// An update accessor that is a method call (`email.to_lowercase()`)
/// compiles and its value is what the update stores: the value it returns,
/// a temporary, lives as long as the statement that binds it.
pub(crate) mod update_accessor_method_call {
    use super::*;

    #[derive(EsRepo, Debug)]
    #[es_repo(
        entity = "Member",
        columns(
            email(
                ty = "String",
                create(accessor = "email_key()"),
                update(accessor = "email.to_lowercase()")
            ),
            nickname = "Option<String>",
            credit_limit = "i64",
            region = "String",
            referral_code(ty = "String", update(persist = false)),
            tier(ty = "String", create(persist = false)),
        )
    )]
    pub struct MembersByMethod {
        pub(crate) pool: sqlx::PgPool,
    }

    #[tokio::test]
    async fn update_accessor_may_be_a_method_call() {
        let pool = es_entity_tests::pool().await;
        let members = MembersByMethod { pool: pool.clone() };
        let mut member = members.create(NewMember::fresh()).await.unwrap();
        let typed = format!("{}@UPPER.example", unique("Method"));
        member.change_email(&typed);
        members.update(&mut member).await.unwrap();
        assert_eq!(
            member_row(&pool, member.id).await.email,
            typed.to_lowercase()
        );
    }
}

#[tokio::test]
async fn create_persist_false_leaves_the_column_to_its_database_default() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    // `tier(create(persist = false))`: `NewMember` has no `tier` at all (the
    // generated create would not compile if it read one); the row gets the
    // column's DEFAULT 'basic'.
    let mut member = members.create(NewMember::fresh()).await.unwrap();
    assert_eq!(member_row(&pool, member.id).await.tier, "basic");
    assert_eq!(member.tier, "basic");

    // Updates do write it.
    member.upgrade_tier("platinum");
    members.update(&mut member).await.unwrap();
    assert_eq!(member_row(&pool, member.id).await.tier, "platinum");
}

#[tokio::test]
async fn update_persist_false_leaves_the_column_untouched() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let new = NewMember::fresh();
    let original = new.referral_code.clone();
    let mut member = members.create(new).await.unwrap();

    let changed = unique("ref-changed");
    member.change_referral_code(&changed);
    member.change_credit_limit(55);
    assert_eq!(members.update(&mut member).await.unwrap(), 2);

    let row = member_row(&pool, member.id).await;
    assert_eq!(
        row.referral_code, original,
        "update(persist = false): not written"
    );
    assert_eq!(
        row.credit_limit, 55,
        "the other columns of the same update are written"
    );
    assert_eq!(
        stored_sequences(&pool, "member_events", member.id).await,
        [1, 2, 3]
    );
    // The entity itself moved on; the index still finds it by the old code only.
    let loaded = members.find_by_referral_code(&original).await.unwrap();
    assert_eq!(loaded.id, member.id);
    assert_eq!(loaded.referral_code, changed);
    assert!(
        members
            .maybe_find_by_referral_code(&changed)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn tbl_prefix_names_both_tables() {
    let pool = es_entity_tests::pool().await;
    let gizmos = Gizmos::new(&pool);
    let label = unique("gizmo");
    let mut gizmo = gizmos
        .create(NewGizmo {
            id: GizmoId::new(),
            label: label.clone(),
        })
        .await
        .unwrap();

    assert!(index_row_exists(&pool, "app_gizmos", gizmo.id).await);
    assert_eq!(
        stored_sequences(&pool, "app_gizmo_events", gizmo.id).await,
        [1]
    );

    let relabeled = unique("gizmo-relabeled");
    gizmo.relabel(&relabeled);
    assert_eq!(gizmos.update(&mut gizmo).await.unwrap(), 1);
    let stored_label: String = sqlx::query_scalar("SELECT label FROM app_gizmos WHERE id = $1")
        .bind(Uuid::from(gizmo.id))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored_label, relabeled);
    assert_eq!(
        stored_sequences(&pool, "app_gizmo_events", gizmo.id).await,
        [1, 2]
    );

    assert_eq!(gizmos.find_by_label(&relabeled).await.unwrap().id, gizmo.id);
    assert!(gizmos.maybe_find_by_label(&label).await.unwrap().is_none());
    let loaded = gizmos.find_by_id(gizmo.id).await.unwrap();
    assert_eq!(loaded.label, relabeled);
    assert_eq!(loaded.events().len_persisted(), 2);
}

#[tokio::test]
async fn custom_tbl_events_tbl_id_and_event_types() {
    let pool = es_entity_tests::pool().await;
    let parcels = Parcels::new(&pool);
    let tracking = unique("TRK");
    let mut parcel = parcels
        .create(NewParcel {
            id: ParcelNo::new(),
            tracking: tracking.clone(),
            weight_grams: 750,
        })
        .await
        .unwrap();

    assert!(index_row_exists(&pool, "shipping_parcels", parcel.id).await);
    assert_eq!(
        stored_sequences(&pool, "shipping_parcel_log", parcel.id).await,
        [1]
    );

    parcel.reweigh(900);
    parcels.update(&mut parcel).await.unwrap();
    let weight: i32 = sqlx::query_scalar("SELECT weight_grams FROM shipping_parcels WHERE id = $1")
        .bind(Uuid::from(parcel.id))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(weight, 900, "a find_by = false column is still written");
    let stored = stored_events(&pool, "shipping_parcel_log", parcel.id).await;
    assert_eq!(
        stored
            .iter()
            .map(|(s, t, _)| (*s, t.as_str()))
            .collect::<Vec<_>>(),
        [(1, "registered"), (2, "reweighed")]
    );

    let loaded = parcels.find_by_tracking(&tracking).await.unwrap();
    assert_eq!((loaded.id, loaded.weight_grams), (parcel.id, 900));
    assert_eq!(
        parcels.find_by_id(parcel.id).await.unwrap().tracking,
        tracking
    );
    // Errors name the entity and its column enum.
    let err = parcels.find_by_tracking(unique("none")).await.unwrap_err();
    assert!(matches!(
        err,
        FindError::NotFound {
            entity: "Parcel",
            column: ParcelColumn::Tracking,
            ..
        }
    ));
}

#[tokio::test]
async fn schema_qualified_tables() {
    let pool = es_entity_tests::pool().await;
    let vouchers = Vouchers::new(&pool);
    let code = unique("V");
    let mut voucher = vouchers
        .create(NewVoucher {
            id: VoucherId::new(),
            code: code.clone(),
        })
        .await
        .unwrap();
    assert!(index_row_exists(&pool, "repo_test.vouchers", voucher.id).await);
    voucher.redeem("someone");
    assert_eq!(vouchers.update(&mut voucher).await.unwrap(), 1);
    assert_eq!(
        stored_sequences(&pool, "repo_test.voucher_events", voucher.id).await,
        [1, 2]
    );
    let loaded = vouchers.find_by_code(&code).await.unwrap();
    assert_eq!(
        (loaded.id, loaded.events().len_persisted()),
        (voucher.id, 2)
    );
}

#[tokio::test]
async fn nullable_column_is_found_by_some_and_by_none() {
    let pool = es_entity_tests::pool().await;
    let members = Members::new(&pool);
    let nick = unique("nick");
    let mut with_nick = NewMember::fresh();
    with_nick.nickname = Some(nick.clone());
    let with_nick = members.create(with_nick).await.unwrap();
    // Two members without a nickname: at least two rows have NULL.
    let a = members.create(NewMember::fresh()).await.unwrap();
    let b = members.create(NewMember::fresh()).await.unwrap();
    assert_eq!((a.nickname.as_ref(), b.nickname.as_ref()), (None, None));

    assert_eq!(
        members
            .find_by_nickname(Some(nick.clone()))
            .await
            .unwrap()
            .id,
        with_nick.id
    );
    assert_eq!(
        members
            .find_by_nickname(&Some(nick.clone()))
            .await
            .unwrap()
            .id,
        with_nick.id
    );
    assert_eq!(
        members
            .maybe_find_by_nickname(Some(nick.clone()))
            .await
            .unwrap()
            .map(|m| m.id),
        Some(with_nick.id)
    );
    assert!(
        members
            .maybe_find_by_nickname(Some(unique("nobody")))
            .await
            .unwrap()
            .is_none()
    );

    // `None` matches the NULL rows (`col IS NULL AND $1 IS NULL`): with `= NULL` nothing
    // would match and this would be NotFound.
    let err = members.find_by_nickname(None::<String>).await.unwrap_err();
    assert!(
        matches!(&err, FindError::MultipleFound { column: MemberColumn::Nickname, value } if value == "None"),
        "{err:?}"
    );
    let err = members
        .maybe_find_by_nickname(None::<String>)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            QueryError::MultipleFound {
                column: MemberColumn::Nickname,
                ..
            }
        ),
        "{err:?}"
    );

    // Clearing the nickname makes the member one of the NULL rows.
    let mut with_nick = with_nick;
    with_nick.change_nickname(None);
    members.update(&mut with_nick).await.unwrap();
    assert!(
        members
            .maybe_find_by_nickname(Some(nick))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_repo_without_updatable_columns_only_appends_events() {
    let pool = es_entity_tests::pool().await;
    let memos = Memos::new(&pool);
    let title = unique("memo");
    let mut memo = memos
        .create(NewMemo {
            id: MemoId::new(),
            title: title.clone(),
        })
        .await
        .unwrap();

    memo.retitle("second");
    memo.retitle("third");
    assert_eq!(memos.update(&mut memo).await.unwrap(), 2);
    assert_eq!(memo.events().len_persisted(), 3);
    assert_eq!(
        stored_sequences(&pool, "memo_events", memo.id).await,
        [1, 2, 3]
    );

    let stored_title: String = sqlx::query_scalar("SELECT title FROM memos WHERE id = $1")
        .bind(Uuid::from(memo.id))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored_title, title, "title is update(persist = false)");
    let loaded = memos.find_by_title(&title).await.unwrap();
    assert_eq!((loaded.id, loaded.title.as_str()), (memo.id, "third"));
    assert_eq!(memos.update(&mut memo).await.unwrap(), 0);
}

#[test]
fn column_enum_and_error_aliases() {
    use es_entity::EntityColumn;

    assert_eq!(MemberColumn::ENTITY, "Member");
    assert_eq!(ParcelColumn::ENTITY, "Parcel");
    let all = [
        (MemberColumn::Id, "id"),
        (MemberColumn::CreatedAt, "created_at"),
        (MemberColumn::Email, "email"),
        (MemberColumn::Nickname, "nickname"),
        (MemberColumn::CreditLimit, "credit_limit"),
        (MemberColumn::Region, "region"),
        (MemberColumn::ReferralCode, "referral_code"),
        (MemberColumn::Tier, "tier"),
    ];
    for (column, name) in all {
        assert_eq!(column.column_name(), name);
        assert_eq!(column.to_string(), name);
        assert_eq!(MemberColumn::from_column_name(name), Some(column));
    }
    assert_eq!(MemberColumn::from_column_name("nope"), None);
    assert_eq!(
        ParcelColumn::from_column_name("weight_grams"),
        Some(ParcelColumn::WeightGrams)
    );

    fn same<T>(_: std::marker::PhantomData<T>, _: std::marker::PhantomData<T>) {}
    use std::marker::PhantomData as P;
    same(P::<MemberCreateError>, P::<CreateError<MemberColumn>>);
    same(P::<MemberModifyError>, P::<ModifyError<MemberColumn>>);
    same(P::<MemberFindError>, P::<FindError<MemberColumn>>);
    same(P::<MemberQueryError>, P::<QueryError<MemberColumn>>);
    same(P::<<Members as EsRepo>::Entity>, P::<Member>);
    same(
        P::<<Members as EsRepo>::CreateError>,
        P::<MemberCreateError>,
    );
    same(
        P::<<Members as EsRepo>::ModifyError>,
        P::<MemberModifyError>,
    );
    same(P::<<Members as EsRepo>::FindError>, P::<MemberFindError>);
    same(P::<<Members as EsRepo>::QueryError>, P::<MemberQueryError>);
    same(P::<<ParcelColumn as EntityColumn>::EntityId>, P::<ParcelNo>);

    // The errors are `std::error::Error + Send + Sync + 'static`, usable with `?` into a box.
    fn boxed<E: std::error::Error + Send + Sync + 'static>() {}
    boxed::<MemberCreateError>();
    boxed::<MemberModifyError>();
    boxed::<MemberFindError>();
    boxed::<MemberQueryError>();
}
