//! Entities and repositories the `repo_*` tests share, one per table set of
//! `migrations/20261122000200_repo_tests.sql`, plus small SQL helpers that
//! read the tables directly (bypassing the generated code under test).

use chrono::{DateTime, Utc};
use es_entity::*;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

/// A value no other test (or earlier run) has used.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", Uuid::now_v7().simple())
}

// ---------------------------------------------------------------------------
// Member: default table names (`members` / `member_events`), custom accessors
// (a method of `NewMember` on create, another field of `Member` on update), a
// nullable column, a CHECK, `create(persist = false)` and `update(persist = false)`.
//
// The update accessor is a field path because a method call there does not
// compile (see `repo_options::update_accessor_method_call`).

entity_id! { MemberId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "MemberId")]
pub enum MemberEvent {
    Initialized {
        id: MemberId,
        email: String,
        nickname: Option<String>,
        credit_limit: i64,
        region: String,
        referral_code: String,
    },
    EmailChanged {
        email: String,
    },
    NicknameChanged {
        nickname: Option<String>,
    },
    CreditLimitChanged {
        credit_limit: i64,
    },
    RegionChanged {
        region: String,
    },
    ReferralCodeChanged {
        referral_code: String,
    },
    TierUpgraded {
        tier: String,
    },
    Noted {
        text: String,
    },
}

#[derive(EsEntity, Debug)]
pub struct Member {
    pub id: MemberId,
    /// As the member typed it; the index stores it lower-cased.
    pub email: String,
    /// `email` lower-cased: the update accessor of the `email` column.
    pub normalized_email: String,
    pub nickname: Option<String>,
    pub credit_limit: i64,
    pub region: String,
    pub referral_code: String,
    pub tier: String,
    events: EntityEvents<MemberEvent>,
}

impl Member {
    pub fn change_email(&mut self, email: &str) {
        self.email = email.to_owned();
        self.normalized_email = email.to_lowercase();
        self.events.push(MemberEvent::EmailChanged {
            email: email.to_owned(),
        });
    }

    pub fn change_nickname(&mut self, nickname: Option<&str>) {
        self.nickname = nickname.map(str::to_owned);
        self.events.push(MemberEvent::NicknameChanged {
            nickname: self.nickname.clone(),
        });
    }

    pub fn change_credit_limit(&mut self, credit_limit: i64) {
        self.credit_limit = credit_limit;
        self.events
            .push(MemberEvent::CreditLimitChanged { credit_limit });
    }

    pub fn change_region(&mut self, region: &str) {
        self.region = region.to_owned();
        self.events.push(MemberEvent::RegionChanged {
            region: region.to_owned(),
        });
    }

    pub fn change_referral_code(&mut self, code: &str) {
        self.referral_code = code.to_owned();
        self.events.push(MemberEvent::ReferralCodeChanged {
            referral_code: code.to_owned(),
        });
    }

    pub fn upgrade_tier(&mut self, tier: &str) {
        self.tier = tier.to_owned();
        self.events.push(MemberEvent::TierUpgraded {
            tier: tier.to_owned(),
        });
    }

    pub fn note(&mut self, text: &str) {
        self.events.push(MemberEvent::Noted {
            text: text.to_owned(),
        });
    }
}

impl TryFromEvents<MemberEvent> for Member {
    fn try_from_events(events: EntityEvents<MemberEvent>) -> Result<Self, EntityHydrationError> {
        let mut init = None;
        let mut tier = "basic".to_owned();
        for event in events.iter_all() {
            match event {
                MemberEvent::Initialized {
                    email,
                    nickname,
                    credit_limit,
                    region,
                    referral_code,
                    ..
                } => {
                    init = Some((
                        email.clone(),
                        nickname.clone(),
                        *credit_limit,
                        region.clone(),
                        referral_code.clone(),
                    ))
                }
                other => {
                    let Some((email, nickname, credit_limit, region, referral_code)) =
                        init.as_mut()
                    else {
                        return Err(events.missing_field("email"));
                    };
                    match other {
                        MemberEvent::EmailChanged { email: e } => *email = e.clone(),
                        MemberEvent::NicknameChanged { nickname: n } => *nickname = n.clone(),
                        MemberEvent::CreditLimitChanged { credit_limit: c } => *credit_limit = *c,
                        MemberEvent::RegionChanged { region: r } => *region = r.clone(),
                        MemberEvent::ReferralCodeChanged { referral_code: r } => {
                            *referral_code = r.clone()
                        }
                        MemberEvent::TierUpgraded { tier: t } => tier = t.clone(),
                        MemberEvent::Noted { .. } | MemberEvent::Initialized { .. } => {}
                    }
                }
            }
        }
        let (email, nickname, credit_limit, region, referral_code) =
            init.ok_or_else(|| events.missing_field("email"))?;
        Ok(Member {
            id: *events.id(),
            normalized_email: email.to_lowercase(),
            email,
            nickname,
            credit_limit,
            region,
            referral_code,
            tier,
            events,
        })
    }
}

#[derive(Debug, Clone)]
pub struct NewMember {
    pub id: MemberId,
    pub email: String,
    pub nickname: Option<String>,
    pub credit_limit: i64,
    pub region: String,
    pub referral_code: String,
}

impl NewMember {
    /// A member with fresh unique values.
    pub fn fresh() -> Self {
        Self {
            id: MemberId::new(),
            email: format!("{}@Example.COM", unique("Member")),
            nickname: None,
            credit_limit: 100,
            region: unique("region"),
            referral_code: unique("ref"),
        }
    }

    /// The create accessor of the `email` column.
    pub fn email_key(&self) -> String {
        self.email.to_lowercase()
    }
}

impl IntoEvents<MemberEvent> for NewMember {
    fn into_events(self) -> EntityEvents<MemberEvent> {
        EntityEvents::init(
            self.id,
            [MemberEvent::Initialized {
                id: self.id,
                email: self.email,
                nickname: self.nickname,
                credit_limit: self.credit_limit,
                region: self.region,
                referral_code: self.referral_code,
            }],
        )
    }
}

#[derive(EsRepo, Debug, Clone)]
#[es_repo(
    entity = "Member",
    columns(
        email(
            ty = "String",
            create(accessor = "email_key()"),
            update(accessor = "normalized_email")
        ),
        nickname = "Option<String>",
        credit_limit = "i64",
        region = "String",
        referral_code(ty = "String", update(persist = false)),
        tier(ty = "String", create(persist = false)),
    )
)]
pub struct Members {
    pool: PgPool,
}

impl Members {
    pub fn new(pool: &PgPool) -> Self {
        Self { pool: pool.clone() }
    }
}

// ---------------------------------------------------------------------------
// Ticket: `member_id` is a FOREIGN KEY to `members(id)`; not unique.

entity_id! { TicketId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "TicketId")]
pub enum TicketEvent {
    Opened {
        id: TicketId,
        member_id: MemberId,
        title: String,
    },
    Retitled {
        title: String,
    },
    Reassigned {
        member_id: MemberId,
    },
}

#[derive(EsEntity, Debug)]
pub struct Ticket {
    pub id: TicketId,
    pub member_id: MemberId,
    pub title: String,
    events: EntityEvents<TicketEvent>,
}

impl Ticket {
    pub fn retitle(&mut self, title: &str) {
        self.title = title.to_owned();
        self.events.push(TicketEvent::Retitled {
            title: title.to_owned(),
        });
    }

    pub fn reassign(&mut self, member_id: MemberId) {
        self.member_id = member_id;
        self.events.push(TicketEvent::Reassigned { member_id });
    }
}

impl TryFromEvents<TicketEvent> for Ticket {
    fn try_from_events(events: EntityEvents<TicketEvent>) -> Result<Self, EntityHydrationError> {
        let (mut member, mut title) = (None, None);
        for event in events.iter_all() {
            match event {
                TicketEvent::Opened {
                    member_id,
                    title: t,
                    ..
                } => {
                    member = Some(*member_id);
                    title = Some(t.clone());
                }
                TicketEvent::Retitled { title: t } => title = Some(t.clone()),
                TicketEvent::Reassigned { member_id } => member = Some(*member_id),
            }
        }
        Ok(Ticket {
            id: *events.id(),
            member_id: member.ok_or_else(|| events.missing_field("member_id"))?,
            title: title.ok_or_else(|| events.missing_field("title"))?,
            events,
        })
    }
}

pub struct NewTicket {
    pub id: TicketId,
    pub member_id: MemberId,
    pub title: String,
}

impl IntoEvents<TicketEvent> for NewTicket {
    fn into_events(self) -> EntityEvents<TicketEvent> {
        EntityEvents::init(
            self.id,
            [TicketEvent::Opened {
                id: self.id,
                member_id: self.member_id,
                title: self.title,
            }],
        )
    }
}

#[derive(EsRepo, Debug)]
#[es_repo(entity = "Ticket", columns(member_id = "MemberId", title = "String"))]
pub struct Tickets {
    #[es_repo(pool)]
    pub(crate) db: PgPool,
}

impl Tickets {
    pub fn new(pool: &PgPool) -> Self {
        Self { db: pool.clone() }
    }
}

// ---------------------------------------------------------------------------
// Gizmo: `tbl_prefix = "app"` -> `app_gizmos` / `app_gizmo_events`.

entity_id! { GizmoId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "GizmoId")]
pub enum GizmoEvent {
    Built { label: String },
    Relabeled { label: String },
}

#[derive(EsEntity, Debug)]
pub struct Gizmo {
    pub id: GizmoId,
    pub label: String,
    events: EntityEvents<GizmoEvent>,
}

impl Gizmo {
    pub fn relabel(&mut self, label: &str) {
        self.label = label.to_owned();
        self.events.push(GizmoEvent::Relabeled {
            label: label.to_owned(),
        });
    }
}

impl TryFromEvents<GizmoEvent> for Gizmo {
    fn try_from_events(events: EntityEvents<GizmoEvent>) -> Result<Self, EntityHydrationError> {
        let label = events
            .iter_all()
            .map(|e| match e {
                GizmoEvent::Built { label } | GizmoEvent::Relabeled { label } => label.clone(),
            })
            .next_back()
            .ok_or_else(|| events.missing_field("label"))?;
        Ok(Gizmo {
            id: *events.id(),
            label,
            events,
        })
    }
}

pub struct NewGizmo {
    pub id: GizmoId,
    pub label: String,
}

impl IntoEvents<GizmoEvent> for NewGizmo {
    fn into_events(self) -> EntityEvents<GizmoEvent> {
        EntityEvents::init(self.id, [GizmoEvent::Built { label: self.label }])
    }
}

#[derive(EsRepo, Debug)]
#[es_repo(entity = "Gizmo", tbl_prefix = "app", columns(label = "String"))]
pub struct Gizmos {
    pool: PgPool,
}

impl Gizmos {
    pub fn new(pool: &PgPool) -> Self {
        Self { pool: pool.clone() }
    }
}

// ---------------------------------------------------------------------------
// Parcel: custom `tbl` / `events_tbl`, `id` / `event` given explicitly, and a
// column that cannot be searched (`find_by = false`).

entity_id! { ParcelNo }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "ParcelNo")]
pub enum ParcelHistory {
    Registered { tracking: String, weight_grams: i32 },
    Reweighed { weight_grams: i32 },
}

#[derive(EsEntity, Debug)]
#[es_entity(event = "ParcelHistory")]
pub struct Parcel {
    pub id: ParcelNo,
    pub tracking: String,
    pub weight_grams: i32,
    events: EntityEvents<ParcelHistory>,
}

impl Parcel {
    pub fn reweigh(&mut self, weight_grams: i32) {
        self.weight_grams = weight_grams;
        self.events.push(ParcelHistory::Reweighed { weight_grams });
    }
}

impl TryFromEvents<ParcelHistory> for Parcel {
    fn try_from_events(events: EntityEvents<ParcelHistory>) -> Result<Self, EntityHydrationError> {
        let (mut tracking, mut weight) = (None, None);
        for event in events.iter_all() {
            match event {
                ParcelHistory::Registered {
                    tracking: t,
                    weight_grams,
                } => {
                    tracking = Some(t.clone());
                    weight = Some(*weight_grams);
                }
                ParcelHistory::Reweighed { weight_grams } => weight = Some(*weight_grams),
            }
        }
        Ok(Parcel {
            id: *events.id(),
            tracking: tracking.ok_or_else(|| events.missing_field("tracking"))?,
            weight_grams: weight.ok_or_else(|| events.missing_field("weight_grams"))?,
            events,
        })
    }
}

pub struct NewParcel {
    pub id: ParcelNo,
    pub tracking: String,
    pub weight_grams: i32,
}

impl IntoEvents<ParcelHistory> for NewParcel {
    fn into_events(self) -> EntityEvents<ParcelHistory> {
        EntityEvents::init(
            self.id,
            [ParcelHistory::Registered {
                tracking: self.tracking,
                weight_grams: self.weight_grams,
            }],
        )
    }
}

#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Parcel",
    id = "ParcelNo",
    event = "ParcelHistory",
    tbl = "shipping_parcels",
    events_tbl = "shipping_parcel_log",
    columns(tracking = "String", weight_grams(ty = "i32", find_by = false))
)]
pub struct Parcels {
    pool: PgPool,
}

impl Parcels {
    pub fn new(pool: &PgPool) -> Self {
        Self { pool: pool.clone() }
    }
}

// ---------------------------------------------------------------------------
// Memo: no updatable column, so `update` only appends events.

entity_id! { MemoId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "MemoId")]
pub enum MemoEvent {
    Written { title: String },
    Retitled { title: String },
}

#[derive(EsEntity, Debug)]
pub struct Memo {
    pub id: MemoId,
    pub title: String,
    events: EntityEvents<MemoEvent>,
}

impl Memo {
    pub fn retitle(&mut self, title: &str) {
        self.title = title.to_owned();
        self.events.push(MemoEvent::Retitled {
            title: title.to_owned(),
        });
    }
}

impl TryFromEvents<MemoEvent> for Memo {
    fn try_from_events(events: EntityEvents<MemoEvent>) -> Result<Self, EntityHydrationError> {
        let title = events
            .iter_all()
            .map(|e| match e {
                MemoEvent::Written { title } | MemoEvent::Retitled { title } => title.clone(),
            })
            .next_back()
            .ok_or_else(|| events.missing_field("title"))?;
        if title.is_empty() {
            // The entity's own rule: lets tests make hydration fail on purpose.
            return Err(EntityHydrationError::new(
                Some(events.id().to_string()),
                None,
                HydrationFailure::Invalid("a memo needs a title".into()),
            ));
        }
        Ok(Memo {
            id: *events.id(),
            title,
            events,
        })
    }
}

pub struct NewMemo {
    pub id: MemoId,
    pub title: String,
}

impl IntoEvents<MemoEvent> for NewMemo {
    fn into_events(self) -> EntityEvents<MemoEvent> {
        EntityEvents::init(self.id, [MemoEvent::Written { title: self.title }])
    }
}

#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Memo",
    columns(title(ty = "String", update(persist = false)))
)]
pub struct Memos {
    pool: PgPool,
}

impl Memos {
    pub fn new(pool: &PgPool) -> Self {
        Self { pool: pool.clone() }
    }
}

// ---------------------------------------------------------------------------
// Voucher: schema-qualified tables (`repo_test.vouchers` / `repo_test.voucher_events`).

entity_id! { VoucherId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "VoucherId")]
pub enum VoucherEvent {
    Issued { code: String },
    Redeemed { by: String },
}

#[derive(EsEntity, Debug)]
pub struct Voucher {
    pub id: VoucherId,
    pub code: String,
    events: EntityEvents<VoucherEvent>,
}

impl Voucher {
    pub fn redeem(&mut self, by: &str) {
        self.events
            .push(VoucherEvent::Redeemed { by: by.to_owned() });
    }
}

impl TryFromEvents<VoucherEvent> for Voucher {
    fn try_from_events(events: EntityEvents<VoucherEvent>) -> Result<Self, EntityHydrationError> {
        let code = events
            .iter_all()
            .find_map(|e| match e {
                VoucherEvent::Issued { code } => Some(code.clone()),
                _ => None,
            })
            .ok_or_else(|| events.missing_field("code"))?;
        Ok(Voucher {
            id: *events.id(),
            code,
            events,
        })
    }
}

pub struct NewVoucher {
    pub id: VoucherId,
    pub code: String,
}

impl IntoEvents<VoucherEvent> for NewVoucher {
    fn into_events(self) -> EntityEvents<VoucherEvent> {
        EntityEvents::init(self.id, [VoucherEvent::Issued { code: self.code }])
    }
}

#[derive(EsRepo, Debug)]
#[es_repo(
    entity = "Voucher",
    tbl = "repo_test.vouchers",
    events_tbl = "repo_test.voucher_events",
    columns(code = "String")
)]
pub struct Vouchers {
    pool: PgPool,
}

impl Vouchers {
    pub fn new(pool: &PgPool) -> Self {
        Self { pool: pool.clone() }
    }
}

// ---------------------------------------------------------------------------
// Tally: the statement-counting tests (`tallies` / `tally_events`).

entity_id! { TallyId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "TallyId")]
pub enum TallyEvent {
    Started { name: String },
    Counted { by: i64 },
}

#[derive(EsEntity, Debug)]
pub struct Tally {
    pub id: TallyId,
    pub name: String,
    pub total: i64,
    events: EntityEvents<TallyEvent>,
}

impl Tally {
    pub fn count(&mut self, by: i64) {
        self.total += by;
        self.events.push(TallyEvent::Counted { by });
    }
}

impl TryFromEvents<TallyEvent> for Tally {
    fn try_from_events(events: EntityEvents<TallyEvent>) -> Result<Self, EntityHydrationError> {
        let (mut name, mut total) = (None, 0);
        for event in events.iter_all() {
            match event {
                TallyEvent::Started { name: n } => name = Some(n.clone()),
                TallyEvent::Counted { by } => total += by,
            }
        }
        Ok(Tally {
            id: *events.id(),
            name: name.ok_or_else(|| events.missing_field("name"))?,
            total,
            events,
        })
    }
}

pub struct NewTally {
    pub id: TallyId,
    pub name: String,
    /// One `Counted` event each, after `Started`: creation writes `1 + len` events.
    pub initial_counts: Vec<i64>,
}

impl NewTally {
    pub fn fresh(initial_counts: Vec<i64>) -> Self {
        Self {
            id: TallyId::new(),
            name: unique("tally"),
            initial_counts,
        }
    }
}

impl IntoEvents<TallyEvent> for NewTally {
    fn into_events(self) -> EntityEvents<TallyEvent> {
        let counts = self
            .initial_counts
            .into_iter()
            .map(|by| TallyEvent::Counted { by });
        EntityEvents::init(
            self.id,
            std::iter::once(TallyEvent::Started { name: self.name }).chain(counts),
        )
    }
}

#[derive(EsRepo, Debug)]
#[es_repo(entity = "Tally", columns(name = "String"))]
pub struct Tallies {
    pool: PgPool,
}

impl Tallies {
    pub fn new(pool: &PgPool) -> Self {
        Self { pool: pool.clone() }
    }
}

// ---------------------------------------------------------------------------
// Plain-SQL probes of the tables (not through the generated code).

/// `(sequence, event_type, recorded_at)` of every stored event of `id` in `events_table`.
pub async fn stored_events(
    pool: &PgPool,
    events_table: &str,
    id: impl Into<Uuid>,
) -> Vec<(i32, String, DateTime<Utc>)> {
    let sql = format!(
        "SELECT sequence, event_type, recorded_at FROM {events_table} WHERE id = $1 ORDER BY sequence"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id.into())
        .fetch_all(pool)
        .await
        .expect("read stored events")
}

/// The stored sequence numbers of `id`.
pub async fn stored_sequences(pool: &PgPool, events_table: &str, id: impl Into<Uuid>) -> Vec<i32> {
    stored_events(pool, events_table, id)
        .await
        .into_iter()
        .map(|(s, _, _)| s)
        .collect()
}

/// Whether `table` has a row with this id.
pub async fn index_row_exists(pool: &PgPool, table: &str, id: impl Into<Uuid>) -> bool {
    let sql = format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = $1)");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id.into())
        .fetch_one(pool)
        .await
        .expect("probe index row")
}

/// The `members` row of `id`, read directly.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MemberRow {
    pub created_at: DateTime<Utc>,
    pub email: String,
    pub nickname: Option<String>,
    pub credit_limit: i64,
    pub region: String,
    pub referral_code: String,
    pub tier: String,
}

pub async fn member_row(pool: &PgPool, id: MemberId) -> MemberRow {
    sqlx::query_as(
        "SELECT created_at, email, nickname, credit_limit, region, referral_code, tier \
         FROM members WHERE id = $1",
    )
    .bind(Uuid::from(id))
    .fetch_one(pool)
    .await
    .expect("read members row")
}

// ---------------------------------------------------------------------------
// `es_query!` on prefixed and custom tables (tests in es_query_tables.rs).

impl Gizmos {
    /// `app_gizmos` -> `app_gizmo_events` through `tbl_prefix`.
    pub async fn labelled(&self, label: &str) -> Result<Option<Gizmo>, GizmoQueryError> {
        es_query!(
            tbl_prefix = "app",
            "SELECT id FROM app_gizmos WHERE label = $1",
            label
        )
        .fetch_optional(&self.pool)
        .await
    }
}

impl Parcels {
    /// A custom events table is named explicitly.
    pub async fn weighing_between(
        &self,
        low: i32,
        high: i32,
        first: usize,
    ) -> Result<(Vec<Parcel>, bool), ParcelQueryError> {
        es_query!(
            events_tbl = "shipping_parcel_log",
            "SELECT id FROM shipping_parcels WHERE weight_grams BETWEEN $1 AND $2 \
             ORDER BY weight_grams DESC, id LIMIT $3",
            low,
            high,
            (first + 1) as i64
        )
        .fetch_n(&self.pool, first)
        .await
    }
}
