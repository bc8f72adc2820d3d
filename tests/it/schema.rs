//! `schema()`, `to_sql()` and the drift check (`es_entity::schema`):
//! every repository of the suite fits `migrations/`; deliberate drifts on a
//! scratch schema are each reported with a fix, and applying the fixes
//! makes the check clean; the DDL printed for the repositories, applied to
//! an empty schema, fits them and lets every one of them create, update,
//! find and list (`Vouchers`, whose tables are schema-qualified, in a
//! scratch database of its own).

use es_entity::schema::{self, CheckOptions, DifferenceKind, Drift, RepoSchema};
use es_entity::*;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use uuid::Uuid;

use crate::book_list::{NewTask, Tasks};
use crate::create_or_find::{Handles, NewHandle};
use crate::feed::{LedgerAccounts, LedgerNotes, NewLedgerAccount};
use crate::quickstart::{NewUser, UserId, Users};
use crate::repo_errors::{Lossies, LossyEvent, NewLossy};
use crate::repo_fixtures::{
    GizmoId, Gizmos, MemberId, Members, MemoId, Memos, NewGizmo, NewMember, NewMemo, NewParcel,
    NewTally, NewTicket, NewVoucher, ParcelNo, Parcels, Tallies, TicketId, Tickets, VoucherId,
    Vouchers, unique,
};
use crate::repo_options::update_accessor_method_call::MembersByMethod;

/// Every repository of the suite, except the two that do not fit their
/// tables on purpose (`MisdeclaredBooks`, `UnlabelledBadges`, see below)
/// and the one declared inside a test function
/// (`create_or_find::Undeclared`, checked there).
pub fn all_repositories() -> Vec<RepoSchema> {
    vec![
        // Tables other tables reference come first, for `to_sql`.
        crate::repo_fixtures::Members::schema(),
        crate::repo_options::update_accessor_method_call::MembersByMethod::schema(),
        crate::repo_fixtures::Tickets::schema(),
        crate::repo_fixtures::Gizmos::schema(),
        crate::repo_fixtures::Parcels::schema(),
        crate::repo_fixtures::Memos::schema(),
        crate::repo_errors::Lossies::schema(),
        crate::repo_fixtures::Vouchers::schema(),
        crate::repo_fixtures::Tallies::schema(),
        Users::schema(),
        crate::hygiene::Users::schema(),
        crate::hygiene::hooked::HookedUsers::schema(),
        Tasks::schema(),
        crate::book_retry::Accounts::schema(),
        crate::reliability_bad_data::Specimens::schema(),
        crate::repo_bulk::Gauges::schema(),
        crate::sql_names::Slots::schema(),
        crate::column_types::Books::schema(),
        crate::column_types::Leaflets::schema(),
        crate::conflicts_any_language::Badges::schema(),
        LedgerAccounts::schema(),
        LedgerNotes::schema(),
        crate::hygiene::feed::UserFeed::schema(),
        crate::projections::Probes::schema(),
        crate::inline_projection::Products::schema(),
        Handles::schema(),
        crate::in_op_only::TxHandles::schema(),
        crate::repo_ids::Coupons::schema(),
        crate::repo_ids::plain::PlainCoupons::schema(),
        // `LedgersNext` (snapshots.rs) stays out: it reads the `ledgers`
        // tables with another snapshot version and no columns, so it cannot
        // create a ledger (the check says so: `name`, `owner` block inserts).
        crate::snapshots::Ledgers::schema(),
        // Nested entities: parents before their children.
        crate::nested::Orders::schema(),
        crate::nested::Lines::schema(),
        crate::nested_two_levels::Boards::schema(),
        crate::nested_two_levels::Lanes::schema(),
        crate::nested_two_levels::Cards::schema(),
    ]
}

#[tokio::test]
async fn every_repository_fits_the_migrations() {
    let pool = es_entity_tests::pool().await;
    let drift = schema::check(&pool, &all_repositories()).await.unwrap();
    // The one allowance: `specimen_events` has no foreign key to
    // `specimens` on purpose (the orphaned-events tests of
    // reliability_bad_data write events for no specimen).
    let found: Vec<_> = drift
        .differences
        .iter()
        .map(|d| (d.entity, d.table.as_str(), &d.kind))
        .collect();
    assert_eq!(
        found,
        [(
            "Specimen",
            "specimen_events",
            &DifferenceKind::MissingForeignKey {
                columns: vec!["id".into()],
                references: "specimens".into(),
            }
        )],
        "{drift}"
    );
    let others: Vec<_> = all_repositories()
        .into_iter()
        .filter(|r| r.entity() != "Specimen")
        .collect();
    schema::assert_no_drift(&pool, &others).await;
}

/// The migrations have more than the repositories need (columns written by
/// hand, unique keys not declared, the specimens' events table without a
/// foreign key on purpose): strict mode names those, and only those.
#[tokio::test]
async fn strict_mode_reports_the_extras_of_the_migrations() {
    let pool = es_entity_tests::pool().await;
    let drift = schema::check_with(&pool, &all_repositories(), &CheckOptions::new().strict())
        .await
        .unwrap();
    assert!(!drift.is_clean());
    // All extras, but the specimens' foreign key, which is needed.
    assert!(
        drift
            .differences
            .iter()
            .all(|d| d.extra != (d.table == "specimen_events")),
        "{drift}"
    );
    let has = |table: &str, kind: DifferenceKind| {
        drift
            .differences
            .iter()
            .any(|d| d.table == table && d.kind == kind)
    };
    assert!(has(
        "specimen_events",
        DifferenceKind::MissingForeignKey {
            columns: vec!["id".into()],
            references: "specimens".into(),
        }
    ));
    // `members.email` is unique in the table, not in the repository.
    assert!(has(
        "members",
        DifferenceKind::ExtraIndex {
            name: "members_email_key".into()
        }
    ));
    // `ledger_accounts` is also `UserFeed`'s table, which declares no extra column.
    assert!(
        !drift
            .differences
            .iter()
            .any(|d| matches!(&d.kind, DifferenceKind::ExtraColumn { .. }) && d.table == "users")
    );
}

/// `MisdeclaredBooks` declares `status` (a `book_status` enum column) as
/// `Isbn`, a newtype over `String`, and `holder_id` (UUID) as
/// `Option<Isbn>`: the check finds both from sqlx's own type information,
/// as the repository's first write does.
#[tokio::test]
async fn misdeclared_types_are_wrong_types() {
    let pool = es_entity_tests::pool().await;
    let drift = schema::check(
        &pool,
        &[crate::column_types::misdeclared::MisdeclaredBooks::schema()],
    )
    .await
    .unwrap();
    let kinds: Vec<_> = drift.differences.iter().map(|d| &d.kind).collect();
    assert_eq!(
        kinds,
        [
            &DifferenceKind::WrongType {
                column: "status".into(),
                expected: "TEXT".into(),
                found: "book_status".into(),
            },
            &DifferenceKind::WrongType {
                column: "holder_id".into(),
                expected: "TEXT".into(),
                found: "uuid".into(),
            },
            // Columns it does not declare, which its creates cannot fill.
            &DifferenceKind::BlocksInserts {
                column: "pages".into()
            },
            &DifferenceKind::BlocksInserts {
                column: "rating".into()
            },
            &DifferenceKind::BlocksInserts {
                column: "isbn".into()
            },
        ],
        "{drift}"
    );
    assert_eq!(
        drift.differences[0].fix,
        "ALTER TABLE books ALTER COLUMN status TYPE TEXT USING status::TEXT;"
    );
}

/// `UnlabelledBadges` writes NULL into `badges.label` on purpose, to
/// provoke the NOT NULL violation: the check says so before any write.
#[tokio::test]
async fn a_repository_writing_null_into_a_not_null_column_is_drift() {
    let pool = es_entity_tests::pool().await;
    let drift = schema::check(
        &pool,
        &[crate::conflicts_any_language::unlabelled::UnlabelledBadges::schema()],
    )
    .await
    .unwrap();
    let kinds: Vec<_> = drift.differences.iter().map(|d| &d.kind).collect();
    assert_eq!(
        kinds,
        [&DifferenceKind::NotNullable {
            column: "label".into()
        }],
        "{drift}"
    );
}

/// A schema of its own, `search_path` set to it (then `public`, for the
/// `book_status` type), dropped at the end.
pub struct Scratch {
    pub name: String,
    pub pool: PgPool,
}

impl Scratch {
    pub async fn new(label: &str) -> Self {
        let admin = es_entity_tests::pool().await;
        let name = unique(&format!("scratch_{label}"))
            .to_lowercase()
            .replace('-', "_");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&admin)
            .await
            .unwrap();
        // Straight to the server, also when the suite runs through a
        // pooler: `search_path` is a startup option of these connections.
        let options: sqlx::postgres::PgConnectOptions =
            es_entity_tests::database_url().parse().unwrap();
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options.options([("search_path", format!("{name}, public"))]))
            .await
            .unwrap();
        Self { name, pool }
    }

    pub async fn run(&self, sql: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{sql}"));
    }

    pub async fn check(&self, repos: &[RepoSchema]) -> Drift {
        self.check_with(repos, CheckOptions::new()).await
    }

    pub async fn check_with(&self, repos: &[RepoSchema], options: CheckOptions) -> Drift {
        schema::check_with(&self.pool, repos, &options.schema(&self.name))
            .await
            .unwrap()
    }

    pub async fn drop(self) {
        self.pool.close().await;
        let admin = es_entity_tests::pool().await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {} CASCADE",
            self.name
        )))
        .execute(&admin)
        .await
        .unwrap();
    }
}

/// Creates `repos`' tables in a scratch schema from their DDL, applies
/// `drift_sql`, checks, asserts the differences are `expected` (each with a
/// fix), applies the fixes and asserts the check is clean.
pub(crate) async fn drift_then_fix(
    label: &str,
    repos: &[RepoSchema],
    drift_sql: &str,
    expected: &[(&str, DifferenceKind)],
) -> Drift {
    drift_then_fix_with(label, repos, drift_sql, expected, CheckOptions::new()).await
}

pub(crate) async fn drift_then_fix_with(
    label: &str,
    repos: &[RepoSchema],
    drift_sql: &str,
    expected: &[(&str, DifferenceKind)],
    options: CheckOptions,
) -> Drift {
    let scratch = Scratch::new(label).await;
    scratch.run(&schema::to_sql(repos)).await;
    assert!(scratch.check_with(repos, options.clone()).await.is_clean());
    scratch.run(drift_sql).await;
    let drift = scratch.check_with(repos, options.clone()).await;
    let found: Vec<_> = drift
        .differences
        .iter()
        .map(|d| (d.table.as_str(), d.kind.clone()))
        .collect();
    let expected: Vec<_> = expected.iter().map(|(t, k)| (*t, k.clone())).collect();
    assert_eq!(found, expected, "{drift}");
    for d in &drift.differences {
        assert!(!d.fix.is_empty());
        assert!(
            drift
                .to_string()
                .contains(d.fix.trim_end().lines().next().unwrap())
        );
    }
    scratch.run(&drift.fix_sql()).await;
    let after = scratch.check_with(repos, options).await;
    assert!(
        after.is_clean(),
        "after applying\n{}\n{after}",
        drift.fix_sql()
    );
    scratch.drop().await;
    drift
}

#[tokio::test]
async fn a_missing_column_is_added() {
    let drift = drift_then_fix(
        "missing_column",
        &[Tasks::schema()],
        "DROP INDEX tasks_assignee_created_at_id_idx; ALTER TABLE tasks DROP COLUMN assignee",
        &[
            (
                "tasks",
                DifferenceKind::MissingColumn {
                    column: "assignee".into(),
                },
            ),
            (
                "tasks",
                DifferenceKind::MissingIndex {
                    columns: vec!["assignee".into()],
                    purpose: "list_for_assignee_by_created_at".into(),
                },
            ),
        ],
    )
    .await;
    assert_eq!(
        drift.differences[0].fix,
        "ALTER TABLE tasks ADD COLUMN assignee TEXT;"
    );
}

#[tokio::test]
async fn a_wrong_type_is_altered() {
    let drift = drift_then_fix(
        "wrong_type",
        &[Tasks::schema()],
        "ALTER TABLE tasks ALTER COLUMN priority TYPE TEXT",
        &[(
            "tasks",
            DifferenceKind::WrongType {
                column: "priority".into(),
                expected: "INT4".into(),
                found: "text".into(),
            },
        )],
    )
    .await;
    assert_eq!(
        drift.differences[0].fix,
        "ALTER TABLE tasks ALTER COLUMN priority TYPE INT4 USING priority::INT4;"
    );
}

/// `String` fits `VARCHAR(n)` as well as `TEXT`, as sqlx judges it: no drift.
#[tokio::test]
async fn a_compatible_type_is_no_drift() {
    let scratch = Scratch::new("compatible").await;
    scratch.run(&Users::schema().to_sql()).await;
    scratch
        .run(
            "ALTER TABLE users ALTER COLUMN name TYPE VARCHAR(80); \
              ALTER TABLE user_events ALTER COLUMN event_type TYPE VARCHAR",
        )
        .await;
    let drift = scratch.check(&[Users::schema()]).await;
    assert!(drift.is_clean(), "{drift}");
    scratch.drop().await;
}

#[tokio::test]
async fn a_missing_unique_constraint_is_added() {
    let drift = drift_then_fix(
        "missing_unique",
        &[Handles::schema()],
        "ALTER TABLE handles DROP CONSTRAINT handles_email_key",
        &[(
            "handles",
            DifferenceKind::MissingUnique {
                columns: vec!["email".into()],
            },
        )],
    )
    .await;
    assert_eq!(
        drift.differences[0].fix,
        "ALTER TABLE handles ADD UNIQUE (email);"
    );
}

/// A unique index serves as well as a unique constraint; a partial one does not.
#[tokio::test]
async fn a_unique_index_is_a_unique_key_unless_partial() {
    let scratch = Scratch::new("unique_index").await;
    scratch.run(&Handles::schema().to_sql()).await;
    scratch
        .run(
            "ALTER TABLE handles DROP CONSTRAINT handles_email_key; \
              CREATE UNIQUE INDEX handles_email_idx ON handles (email)",
        )
        .await;
    assert!(scratch.check(&[Handles::schema()]).await.is_clean());
    scratch
        .run(
            "DROP INDEX handles_email_idx; \
              CREATE UNIQUE INDEX handles_email_idx ON handles (email) WHERE NOT deleted",
        )
        .await;
    let drift = scratch.check(&[Handles::schema()]).await;
    assert_eq!(drift.differences.len(), 1, "{drift}");
    assert_eq!(
        drift.differences[0].kind,
        DifferenceKind::MissingUnique {
            columns: vec!["email".into()]
        }
    );
    scratch.drop().await;
}

#[tokio::test]
async fn a_missing_index_is_created() {
    let drift = drift_then_fix(
        "missing_index",
        &[Tasks::schema()],
        "DROP INDEX tasks_title_id_idx",
        &[(
            "tasks",
            DifferenceKind::MissingIndex {
                columns: vec!["title".into(), "id".into()],
                purpose: "list_by_title".into(),
            },
        )],
    )
    .await;
    assert_eq!(
        drift.differences[0].fix,
        "CREATE INDEX tasks_title_id_idx ON tasks (title, id);\n"
    );
}

/// An index serves a listing by its leading columns: `(title, id, project)`
/// serves `list_by_title`; `(id, title)` and a hash index do not.
#[tokio::test]
async fn an_index_serves_by_its_leading_columns() {
    let scratch = Scratch::new("leading").await;
    scratch.run(&Tasks::schema().to_sql()).await;
    scratch
        .run("DROP INDEX tasks_title_id_idx; CREATE INDEX wide ON tasks (title, id, project)")
        .await;
    assert!(scratch.check(&[Tasks::schema()]).await.is_clean());
    scratch
        .run(
            "DROP INDEX wide; CREATE INDEX backwards ON tasks (id, title); \
              CREATE INDEX hashed ON tasks USING hash (title)",
        )
        .await;
    let drift = scratch.check(&[Tasks::schema()]).await;
    assert_eq!(drift.differences.len(), 1, "{drift}");
    assert!(matches!(
        &drift.differences[0].kind,
        DifferenceKind::MissingIndex { columns, .. } if columns == &["title", "id"]
    ));
    scratch.drop().await;
}

#[tokio::test]
async fn a_nullable_column_that_must_not_be_is_set_not_null() {
    let drift = drift_then_fix(
        "nullable",
        &[Tasks::schema()],
        "ALTER TABLE tasks ALTER COLUMN title DROP NOT NULL",
        &[(
            "tasks",
            DifferenceKind::Nullable {
                column: "title".into(),
            },
        )],
    )
    .await;
    assert_eq!(
        drift.differences[0].fix,
        "ALTER TABLE tasks ALTER COLUMN title SET NOT NULL;"
    );
}

/// `priority` is an `Option<i32>`: NOT NULL would refuse the repository's NULLs.
#[tokio::test]
async fn a_not_null_column_the_repository_writes_null_to_is_relaxed() {
    drift_then_fix(
        "not_nullable",
        &[Tasks::schema()],
        "UPDATE tasks SET priority = 0; ALTER TABLE tasks ALTER COLUMN priority SET NOT NULL",
        &[(
            "tasks",
            DifferenceKind::NotNullable {
                column: "priority".into(),
            },
        )],
    )
    .await;
}

#[tokio::test]
async fn a_missing_events_table_is_created() {
    let drift = drift_then_fix(
        "missing_events",
        &[Tasks::schema()],
        "DROP TABLE task_events",
        &[("task_events", DifferenceKind::MissingTable)],
    )
    .await;
    assert!(
        drift.differences[0]
            .fix
            .starts_with("CREATE TABLE task_events (")
    );
}

/// Soft delete relies on `deleted`'s default; a column the repository does
/// not know, NOT NULL without a default, makes every insert fail.
#[tokio::test]
async fn missing_defaults_and_blocking_columns() {
    drift_then_fix(
        "defaults",
        &[Tasks::schema()],
        "ALTER TABLE tasks ALTER COLUMN deleted DROP DEFAULT; \
         ALTER TABLE tasks ADD COLUMN owner TEXT NOT NULL",
        &[
            (
                "tasks",
                DifferenceKind::MissingDefault {
                    column: "deleted".into(),
                },
            ),
            (
                "tasks",
                DifferenceKind::BlocksInserts {
                    column: "owner".into(),
                },
            ),
        ],
    )
    .await;
}

/// The feed's columns, their defaults, index and sequence.
#[tokio::test]
async fn missing_feed_columns_and_sequence() {
    let drift = drift_then_fix(
        "feed",
        &[LedgerAccounts::schema(), LedgerNotes::schema()],
        "ALTER TABLE ledger_note_events DROP COLUMN transaction_id, DROP COLUMN position; \
         ALTER TABLE ledger_account_events ALTER COLUMN position DROP DEFAULT; \
         DROP SEQUENCE es_feed_position",
        &[
            ("es_feed_position", DifferenceKind::MissingSequence),
            (
                "ledger_account_events",
                DifferenceKind::MissingDefault {
                    column: "position".into(),
                },
            ),
            (
                "ledger_note_events",
                DifferenceKind::MissingColumn {
                    column: "transaction_id".into(),
                },
            ),
            (
                "ledger_note_events",
                DifferenceKind::MissingColumn {
                    column: "position".into(),
                },
            ),
            (
                "ledger_note_events",
                DifferenceKind::MissingIndex {
                    columns: vec!["transaction_id".into(), "position".into()],
                    purpose: "the feed".into(),
                },
            ),
        ],
    )
    .await;
    assert_eq!(
        drift.differences[2].fix,
        "ALTER TABLE ledger_note_events ADD COLUMN transaction_id XID8 NOT NULL DEFAULT pg_current_xact_id();"
    );
}

/// Strict mode: an extra column, an extra index and a missing foreign key,
/// each with its fix; the default mode allows the first two.
#[tokio::test]
async fn strict_extras_are_reported_and_fixed() {
    let scratch = Scratch::new("strict_default").await;
    scratch.run(&Users::schema().to_sql()).await;
    scratch
        .run(
            "ALTER TABLE users ADD COLUMN nickname TEXT; \
              CREATE INDEX users_created_at_idx ON users (created_at)",
        )
        .await;
    assert!(scratch.check(&[Users::schema()]).await.is_clean());
    scratch.drop().await;

    drift_then_fix_with(
        "strict",
        &[Users::schema()],
        "ALTER TABLE users ADD COLUMN nickname TEXT; \
         CREATE INDEX users_created_at_idx ON users (created_at); \
         ALTER TABLE user_events DROP CONSTRAINT user_events_id_fkey",
        &[
            (
                "users",
                DifferenceKind::ExtraColumn {
                    column: "nickname".into(),
                },
            ),
            (
                "users",
                DifferenceKind::ExtraIndex {
                    name: "users_created_at_idx".into(),
                },
            ),
            (
                "user_events",
                DifferenceKind::MissingForeignKey {
                    columns: vec!["id".into()],
                    references: "users".into(),
                },
            ),
        ],
        CheckOptions::new().strict(),
    )
    .await;
}

#[tokio::test]
async fn the_report_names_what_where_and_the_fix() {
    let scratch = Scratch::new("report").await;
    scratch.run(&Users::schema().to_sql()).await;
    scratch
        .run("ALTER TABLE users ALTER COLUMN name DROP NOT NULL")
        .await;
    let drift = scratch.check(&[Users::schema()]).await;
    assert_eq!(
        drift.to_string(),
        "the schema differs from what the repositories need (1 difference):\n\
         - users.name allows NULL; it must be NOT NULL [User]\n    \
         fix: ALTER TABLE users ALTER COLUMN name SET NOT NULL;\n\
         \n\
         the fixes, as one migration:\n\
         ALTER TABLE users ALTER COLUMN name SET NOT NULL;\n"
    );
    let panic = tokio::spawn({
        let pool = scratch.pool.clone();
        let name = scratch.name.clone();
        async move {
            schema::assert_no_drift_with(
                &pool,
                &[Users::schema()],
                &CheckOptions::new().schema(name),
            )
            .await
        }
    })
    .await
    .unwrap_err();
    let message = panic.into_panic();
    let message = message.downcast_ref::<String>().unwrap();
    assert!(message.contains("SET NOT NULL"), "{message}");
    scratch.drop().await;
}

/// A catalog read that fails is a typed error, not a drift.
#[tokio::test]
async fn a_failing_catalog_read_is_an_error() {
    let pool = es_entity_tests::pool().await;
    pool.close().await;
    let err = schema::check(&pool, &[Users::schema()]).await.unwrap_err();
    assert!(
        matches!(err, schema::SchemaCheckError::Catalog(_)),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("reading the schema from the catalog")
    );
}

/// The DDL of every repository (but `Vouchers`, whose tables are qualified
/// with `repo_test`: see `vouchers_work_on_their_printed_ddl_in_a_database_of_their_own`),
/// applied to an empty schema, fits them, also in strict mode but for the
/// extras of tables two repositories share.
#[tokio::test]
async fn the_printed_ddl_fits_every_repository() {
    let repos: Vec<_> = all_repositories()
        .into_iter()
        .filter(|r| r.entity() != "Voucher")
        .collect();
    let scratch = Scratch::new("ddl").await;
    scratch.run(&schema::to_sql(&repos)).await;
    let drift = scratch.check(&repos).await;
    assert!(drift.is_clean(), "{drift}");
    for repo in &repos {
        let strict = scratch
            .check_with(std::slice::from_ref(repo), CheckOptions::new().strict())
            .await;
        // A table another repository printed first may carry its extras.
        assert!(
            strict.differences.iter().all(|d| matches!(
                d.kind,
                DifferenceKind::ExtraColumn { .. } | DifferenceKind::ExtraIndex { .. }
            )),
            "{}: {strict}",
            repo.entity()
        );
    }
    scratch.drop().await;
}

fn first<C>(n: usize) -> PaginatedQueryArgs<C> {
    PaginatedQueryArgs {
        first: n,
        after: None,
    }
}

// ---------------------------------------------------------------------------
// The round trip: every repository of `all_repositories()` creates, updates,
// finds and lists on tables made from nothing but its printed DDL, in
// groups of repositories that share tables or fixtures, each group on a
// scratch schema of its own (`every_repository_is_round_tripped` keeps the
// groups complete).
//
// `MisdeclaredBooks` and `UnlabelledBadges` stay out, as they stay out of
// `all_repositories()`: they describe the `books` and `badges` tables of
// `Books` and `Badges` wrongly on purpose (`status` as a TEXT newtype,
// `holder_id` as text, `label` nullable), to show the failures a mismatch
// causes on those real tables (`misdeclared_types_are_wrong_types`,
// `a_repository_writing_null_into_a_not_null_column_is_drift`, and the
// write errors in column_types.rs and conflicts_any_language.rs). Their own
// DDL would print other `books`/`badges` tables than `Books`/`Badges` need,
// which no schema can hold next to them, and a round trip on tables shaped
// after their mistakes would show nothing they are there for.

/// The ids of a page, in order.
fn ids_of<T: EsEntity, C>(page: &PaginatedQueryRet<T, C>) -> Vec<<T::Event as EsEvent>::EntityId>
where
    <T::Event as EsEvent>::EntityId: Copy,
{
    page.entities.iter().map(|e| *e.events().id()).collect()
}

/// Polls `read` until it returns at least `expected` events: the feed shows
/// only events of transactions older than every running one on the server,
/// and other tests (and databases) may hold that back for a while.
async fn poll_feed<T, F, Fut>(expected: usize, mut read: F) -> Vec<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Vec<T>>,
{
    let started = std::time::Instant::now();
    loop {
        let events = read().await;
        if events.len() >= expected {
            return events;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "{} of {expected} feed events arrived",
            events.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Creates `repos`' tables from their DDL in a fresh scratch schema and
/// asserts the check finds them clean before any round trip.
async fn scratch_from_ddl(label: &str, repos: &[RepoSchema]) -> Scratch {
    let scratch = Scratch::new(label).await;
    scratch.run(&schema::to_sql(repos)).await;
    let drift = scratch.check(repos).await;
    assert!(drift.is_clean(), "{drift}");
    scratch
}

/// The repositories of `repo_fixtures` (and the two that reuse their
/// tables with another declaration or event type, round-tripped apart).
fn fixture_repos() -> Vec<RepoSchema> {
    vec![
        Members::schema(),
        MembersByMethod::schema(),
        Tickets::schema(),
        Gizmos::schema(),
        Parcels::schema(),
        Memos::schema(),
        Tallies::schema(),
    ]
}

#[tokio::test]
async fn fixture_repositories_work_on_their_printed_ddl() {
    let scratch = scratch_from_ddl("rt_fixtures", &fixture_repos()).await;
    let pool = &scratch.pool;
    let (first_member, second_member) = members_round_trip(pool).await;
    tickets_round_trip(pool, first_member, second_member).await;
    gizmos_round_trip(pool).await;
    parcels_round_trip(pool).await;
    memos_round_trip(pool).await;
    tallies_round_trip(pool).await;
    scratch.drop().await;
}

/// `Members` and `MembersByMethod` share `members`: each updates a member
/// the other created, through its own update accessor; `tier` is left to
/// the database by `create` (nullable in the DDL) and written by `update`.
async fn members_round_trip(pool: &PgPool) -> (MemberId, MemberId) {
    let members = Members::new(pool);
    let by_method = MembersByMethod { pool: pool.clone() };
    let created = members
        .create_all(vec![NewMember::fresh(), NewMember::fresh()])
        .await
        .unwrap();
    let (a, b) = (created[0].id, created[1].id);
    assert!(a < b);
    let tier: Option<String> = sqlx::query_scalar("SELECT tier FROM members WHERE id = $1")
        .bind(uuid::Uuid::from(a))
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(tier, None, "create(persist = false) leaves it to the table");

    let mut member = members.find_by_id(a).await.unwrap();
    let typed = format!("{}@Upper.EXAMPLE", unique("First"));
    member.change_email(&typed);
    member.upgrade_tier("gold");
    assert_eq!(members.update(&mut member).await.unwrap(), 2);
    let found = members.find_by_email(typed.to_lowercase()).await.unwrap();
    assert_eq!((found.id, found.email.as_str()), (a, typed.as_str()));
    let tier: Option<String> = sqlx::query_scalar("SELECT tier FROM members WHERE id = $1")
        .bind(uuid::Uuid::from(a))
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(tier.as_deref(), Some("gold"));

    let mut other = by_method.find_by_id(b).await.unwrap();
    let typed = format!("{}@Method.EXAMPLE", unique("Second"));
    other.change_email(&typed);
    other.change_credit_limit(7);
    assert_eq!(by_method.update(&mut other).await.unwrap(), 2);
    let found = members.find_by_email(typed.to_lowercase()).await.unwrap();
    assert_eq!((found.id, found.credit_limit), (b, 7));

    let page = members
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [a, b]);
    let page = by_method
        .list_by_created_at(first(10), ListDirection::Descending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [b, a]);
    assert_eq!(page.entities[0].credit_limit, 7);
    (a, b)
}

async fn tickets_round_trip(pool: &PgPool, holder: MemberId, next_holder: MemberId) {
    let tickets = Tickets::new(pool);
    let title = unique("ticket");
    let mut ticket = tickets
        .create(NewTicket {
            id: TicketId::new(),
            member_id: holder,
            title: title.clone(),
        })
        .await
        .unwrap();
    ticket.reassign(next_holder);
    ticket.retitle("retitled");
    assert_eq!(tickets.update(&mut ticket).await.unwrap(), 2);
    let found = tickets.find_by_member_id(next_holder).await.unwrap();
    assert_eq!((found.id, found.title.as_str()), (ticket.id, "retitled"));
    assert!(tickets.maybe_find_by_title(&title).await.unwrap().is_none());
    let page = tickets
        .list_by_created_at(first(10), ListDirection::Descending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [ticket.id]);
}

async fn gizmos_round_trip(pool: &PgPool) {
    let gizmos = Gizmos::new(pool);
    let mut built = gizmos
        .create_all(vec![
            NewGizmo {
                id: GizmoId::new(),
                label: unique("gizmo"),
            },
            NewGizmo {
                id: GizmoId::new(),
                label: unique("gizmo"),
            },
        ])
        .await
        .unwrap();
    let relabel = unique("relabelled");
    built[1].relabel(&relabel);
    assert_eq!(gizmos.update_all(&mut built).await.unwrap(), 1);
    assert_eq!(
        gizmos.find_by_label(&relabel).await.unwrap().id,
        built[1].id
    );
    let page = gizmos
        .list_by_created_at(first(1), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [built[0].id]);
    assert!(page.has_next_page);
    let rest = gizmos
        .list_by_created_at(
            PaginatedQueryArgs {
                first: 10,
                after: page.end_cursor,
            },
            ListDirection::Ascending,
        )
        .await
        .unwrap();
    assert_eq!(ids_of(&rest), [built[1].id]);
}

async fn parcels_round_trip(pool: &PgPool) {
    let parcels = Parcels::new(pool);
    let tracking = unique("track");
    let mut parcel = parcels
        .create(NewParcel {
            id: ParcelNo::new(),
            tracking: tracking.clone(),
            weight_grams: 500,
        })
        .await
        .unwrap();
    parcel.reweigh(750);
    assert_eq!(parcels.update(&mut parcel).await.unwrap(), 1);
    let found = parcels.find_by_tracking(&tracking).await.unwrap();
    assert_eq!((found.id, found.weight_grams), (parcel.id, 750));
    assert_eq!(found.events().len_persisted(), 2);
    let page = parcels
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [parcel.id]);
}

/// `title(update(persist = false))`: the index keeps the first title.
async fn memos_round_trip(pool: &PgPool) {
    let memos = Memos::new(pool);
    let title = unique("memo");
    let mut memo = memos
        .create(NewMemo {
            id: MemoId::new(),
            title: title.clone(),
        })
        .await
        .unwrap();
    memo.retitle("second title");
    assert_eq!(memos.update(&mut memo).await.unwrap(), 1);
    let found = memos.find_by_title(&title).await.unwrap();
    assert_eq!((found.id, found.title.as_str()), (memo.id, "second title"));
    let page = memos
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [memo.id]);
}

async fn tallies_round_trip(pool: &PgPool) {
    let tallies = Tallies::new(pool);
    let new = NewTally::fresh(vec![1, 2]);
    let name = new.name.clone();
    let mut tally = tallies.create(new).await.unwrap();
    tally.count(3);
    assert_eq!(tallies.update(&mut tally).await.unwrap(), 1);
    let found = tallies.find_by_name(&name).await.unwrap();
    assert_eq!((found.id, found.total), (tally.id, 6));
    assert_eq!(found.events().len_persisted(), 4);
    let page = tallies
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [tally.id]);
}

/// `Lossies` stores `LossyEvent`s in the memo tables; its schema is theirs.
/// Its only command (`seal`) stores an event that does not read back, on
/// purpose: the update stages a second `Written` event, which does; a
/// create with a sealed event is refused and stores nothing.
#[tokio::test]
async fn lossies_work_on_their_printed_ddl() {
    let repos = [Lossies::schema()];
    let scratch = scratch_from_ddl("rt_lossies", &repos).await;
    let lossies = Lossies {
        pool: scratch.pool.clone(),
    };
    let title = unique("lossy");
    let mut lossy = lossies
        .create(NewLossy {
            id: MemoId::new(),
            title: title.clone(),
            sealed: false,
        })
        .await
        .unwrap();
    lossy.events_mut().push(LossyEvent::Written {
        title: "again".into(),
    });
    assert_eq!(lossies.update(&mut lossy).await.unwrap(), 1);
    let refused = lossies
        .create(NewLossy {
            id: MemoId::new(),
            title: unique("sealed"),
            sealed: true,
        })
        .await;
    assert!(
        matches!(refused, Err(CreateError::HydrationError(_))),
        "{refused:?}"
    );
    let found = lossies.find_by_title(&title).await.unwrap();
    assert_eq!((found.id, found.events().len_persisted()), (lossy.id, 2));
    let page = lossies
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [lossy.id]);
    scratch.drop().await;
}

/// Three repositories of `users`: the quickstart's, and `hygiene`'s plain
/// and hooked ones (whose hook asserts it sees the events just stored).
/// They store the same events, so each reads what the others wrote.
fn user_repos() -> Vec<RepoSchema> {
    vec![
        Users::schema(),
        crate::hygiene::Users::schema(),
        crate::hygiene::hooked::HookedUsers::schema(),
    ]
}

#[tokio::test]
async fn user_repositories_work_on_their_printed_ddl() {
    use crate::hygiene::{self, UserEvent as HygieneEvent};
    let scratch = scratch_from_ddl("rt_users", &user_repos()).await;
    let pool = scratch.pool.clone();

    let users = Users::new(pool.clone());
    let mut user = users
        .create(NewUser {
            id: UserId::new(),
            name: unique("first"),
        })
        .await
        .unwrap();
    let renamed = unique("second");
    assert!(user.update_name(&renamed).did_execute());
    assert_eq!(users.update(&mut user).await.unwrap(), 1);
    assert_eq!(users.find_by_name(&renamed).await.unwrap().id, user.id);

    let plain = hygiene::Users { pool: pool.clone() };
    let plain_id = hygiene::UserId::new();
    let mut other = plain
        .create(hygiene::NewUser {
            id: plain_id,
            name: unique("plain"),
        })
        .await
        .unwrap();
    let plain_name = unique("plain-renamed");
    other.events_mut().push(HygieneEvent::NameUpdated {
        name: plain_name.clone(),
    });
    assert_eq!(plain.update(&mut other).await.unwrap(), 1);
    // The index row follows the entity's field, not the event.
    assert!(
        plain
            .maybe_find_by_name(&plain_name)
            .await
            .unwrap()
            .is_none()
    );

    let hooked = hygiene::hooked::HookedUsers { pool: pool.clone() };
    let hooked_id = hygiene::UserId::new();
    let hooked_name = unique("hooked");
    let mut third = hooked
        .create(hygiene::NewUser {
            id: hooked_id,
            name: hooked_name.clone(),
        })
        .await
        .unwrap();
    third.events_mut().push(HygieneEvent::NameUpdated {
        name: unique("hooked-again"),
    });
    assert_eq!(hooked.update(&mut third).await.unwrap(), 1);
    let mut all = [third];
    assert_eq!(hooked.update_all(&mut all).await.unwrap(), 0);
    assert_eq!(
        *plain
            .find_by_name(&hooked_name)
            .await
            .unwrap()
            .events()
            .id(),
        hooked_id
    );

    // Each repository lists all three, in creation order, each with its history.
    let expected = [Uuid::from(user.id), plain_id.into(), hooked_id.into()];
    let page = users
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    let ids: Vec<Uuid> = page.entities.iter().map(|u| u.id.into()).collect();
    assert_eq!(ids, expected);
    assert!(
        page.entities
            .iter()
            .all(|u| u.events().len_persisted() == 2)
    );
    assert_eq!(page.entities[1].name, plain_name);
    let page = hooked
        .list_by_created_at(first(10), ListDirection::Descending)
        .await
        .unwrap();
    let ids: Vec<Uuid> = ids_of(&page).into_iter().map(Uuid::from).collect();
    assert_eq!(ids, expected.iter().rev().copied().collect::<Vec<_>>());
    scratch.drop().await;
}

/// Repositories of their own tables, most of them about column types and
/// listings: `Tasks` (soft delete, `list_by`, `list_for`), `Accounts`
/// (retried deposits), `Specimens` (`es_query!`), `Gauges` (`f64`,
/// `update_all`), `Slots` (columns named like the generated SQL's words),
/// `Books` (a PostgreSQL enum from `public`, a newtype, `Option` ids,
/// `list_for`), `Leaflets` and `Badges`.
fn column_repos() -> Vec<RepoSchema> {
    vec![
        Tasks::schema(),
        crate::book_retry::Accounts::schema(),
        crate::reliability_bad_data::Specimens::schema(),
        crate::repo_bulk::Gauges::schema(),
        crate::sql_names::Slots::schema(),
        crate::column_types::Books::schema(),
        crate::column_types::Leaflets::schema(),
        crate::conflicts_any_language::Badges::schema(),
    ]
}

#[tokio::test]
async fn column_and_listing_repositories_work_on_their_printed_ddl() {
    let scratch = scratch_from_ddl("rt_columns", &column_repos()).await;
    let pool = &scratch.pool;
    tasks_round_trip(pool).await;
    accounts_round_trip(pool).await;
    specimens_round_trip(pool).await;
    gauges_round_trip(pool).await;
    slots_round_trip(pool).await;
    books_round_trip(pool).await;
    leaflets_round_trip(pool).await;
    badges_round_trip(pool).await;
    scratch.drop().await;
}

async fn tasks_round_trip(pool: &PgPool) {
    let tasks = Tasks::new(pool.clone());
    let mut task = tasks.create(NewTask::new("p", "t", Some(2))).await.unwrap();
    let other = tasks.create(NewTask::new("p", "s", None)).await.unwrap();
    task.assign("someone");
    assert_eq!(tasks.update(&mut task).await.unwrap(), 1);
    let page = tasks
        .list_for_assignee_by_created_at(
            Some("someone".to_owned()),
            first(10),
            ListDirection::Ascending,
        )
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [task.id]);
    let page = tasks
        .list_for_project_by_created_at("p".to_owned(), first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [task.id, other.id]);
    let page = tasks
        .list_by_title(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [other.id, task.id], "\"s\" < \"t\"");
    task.delete();
    tasks.delete(task).await.unwrap();
    let page = tasks
        .list_by_title(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [other.id], "the deleted task is not listed");
    assert_eq!(tasks.find_by_title("s").await.unwrap().id, other.id);
    assert!(tasks.maybe_find_by_title("t").await.unwrap().is_none());
}

async fn accounts_round_trip(pool: &PgPool) {
    use crate::book_retry::{Accounts, NewAccount};
    let accounts = Accounts::new(pool.clone());
    let new = NewAccount::named("rt");
    let name = new.name.clone();
    let account = accounts.create(new).await.unwrap();
    // Load, deposit, update, with the retry attribute.
    assert_eq!(accounts.deposit(account.id, 5).await.unwrap(), 5);
    assert_eq!(accounts.deposit(account.id, 7).await.unwrap(), 12);
    let found = accounts.find_by_balance(12i64).await.unwrap();
    assert_eq!((found.id, found.name.as_str()), (account.id, name.as_str()));
    let page = accounts
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [account.id]);
}

async fn specimens_round_trip(pool: &PgPool) {
    use crate::reliability_bad_data::{NewSpecimen, Specimens};
    let specimens = Specimens::new(pool.clone());
    let mut specimen = specimens
        .create(NewSpecimen::named(unique("specimen")))
        .await
        .unwrap();
    let renamed = unique("renamed");
    specimen.rename(&renamed);
    specimen.note("a note");
    assert_eq!(specimens.update(&mut specimen).await.unwrap(), 2);
    let (found, more) = specimens.named_exactly(&renamed).await.unwrap();
    assert!(!more);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].id, found[0].notes.len()), (specimen.id, 1));
    assert_eq!(
        specimens.find_by_name(&renamed).await.unwrap().id,
        specimen.id
    );
    let page = specimens
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [specimen.id]);
}

async fn gauges_round_trip(pool: &PgPool) {
    use crate::repo_bulk::{Gauges, new_gauge};
    let gauges = Gauges { pool: pool.clone() };
    let mut built = gauges
        .create_all(vec![new_gauge(1.5), new_gauge(-0.25)])
        .await
        .unwrap();
    built[0].read(3.75);
    let label = unique("relabelled");
    built[1].relabel(&label);
    assert_eq!(gauges.update_all(&mut built).await.unwrap(), 2);
    assert_eq!(gauges.find_by_reading(3.75).await.unwrap().id, built[0].id);
    let found = gauges.find_by_label(&label).await.unwrap();
    assert_eq!((found.id, found.reading), (built[1].id, -0.25));
    let page = gauges
        .list_by_created_at(first(10), ListDirection::Descending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [built[1].id, built[0].id]);
}

async fn slots_round_trip(pool: &PgPool) {
    use crate::sql_names::{Slots, new_slot};
    let slots = Slots { pool: pool.clone() };
    let mut placed = slots
        .create_all(vec![new_slot(1), new_slot(2)])
        .await
        .unwrap();
    placed[0].move_to(-5);
    assert_eq!(slots.update(&mut placed[0]).await.unwrap(), 1);
    let found = slots.find_by_ordinality(-5i64).await.unwrap();
    assert_eq!((found.id, &found.k), (placed[0].id, &placed[0].k));
    let found = slots.find_by_doc(&placed[1].doc).await.unwrap();
    assert_eq!((found.id, &found.r), (placed[1].id, &placed[1].r));
    assert_eq!(found.notes.len(), 2, "new_slot(2) writes two notes");
    let page = slots
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [placed[0].id, placed[1].id]);
}

async fn books_round_trip(pool: &PgPool) {
    use crate::column_types::{BookStatus, Books, NewBook};
    let books = Books { pool: pool.clone() };
    // The enum and the newtype, checked against the scratch table.
    books.check_column_types().await.unwrap();
    let mut book = books.create(NewBook::fresh(2.5)).await.unwrap();
    let shelved = books.create(NewBook::fresh(f64::NAN)).await.unwrap();
    let holder = MemberId::new();
    book.lend(holder);
    book.rate(-0.0);
    assert_eq!(books.update(&mut book).await.unwrap(), 2);
    let found = books.find_by_isbn(book.isbn.clone()).await.unwrap();
    assert_eq!(found.id, book.id);
    assert_eq!(found.rating.to_bits(), (-0.0f64).to_bits());
    assert_eq!(found.holder_id, Some(holder));
    let page = books
        .list_for_status_by_created_at(BookStatus::Lent, first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [book.id]);
    let page = books
        .list_for_status_by_created_at(BookStatus::Available, first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [shelved.id]);
    assert!(page.entities[0].rating.is_nan());
    let page = books
        .list_for_holder_id_by_created_at(Some(holder), first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [book.id]);
    let page = books
        .list_by_title(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(page.entities.len(), 2);
}

async fn leaflets_round_trip(pool: &PgPool) {
    use crate::column_types::{LeafletEvent, LeafletId, Leaflets, NewLeaflet};
    let leaflets = Leaflets { pool: pool.clone() };
    let mut leaflet = leaflets
        .create(NewLeaflet {
            id: LeafletId::new(),
            pages: i32::MAX,
        })
        .await
        .unwrap();
    // `Leaflet` has no command: reprint it by hand.
    leaflet.pages = 12;
    leaflet
        .events_mut()
        .push(LeafletEvent::Printed { pages: 12 });
    assert_eq!(leaflets.update(&mut leaflet).await.unwrap(), 1);
    let found = leaflets.find_by_pages(12i32).await.unwrap();
    assert_eq!((found.id, found.pages), (leaflet.id, 12));
    let page = leaflets
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [leaflet.id]);
}

async fn badges_round_trip(pool: &PgPool) {
    use crate::conflicts_any_language::{Badges, NewBadge};
    let badges = Badges { pool: pool.clone() };
    let mut badge = badges.create(NewBadge::fresh()).await.unwrap();
    badge.score(25);
    assert_eq!(badges.update(&mut badge).await.unwrap(), 1);
    let found = badges.find_by_code(&badge.code).await.unwrap();
    assert_eq!((found.id, found.points), (badge.id, 25));
    assert_eq!(
        badges.find_by_label(&badge.label).await.unwrap().id,
        badge.id
    );
    let page = badges
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [badge.id]);
}

/// The feed's repositories: writes land in the feed in commit order,
/// across the two ledger tables, on the DDL's feed columns and sequence.
fn feed_repos() -> Vec<RepoSchema> {
    vec![
        LedgerAccounts::schema(),
        LedgerNotes::schema(),
        crate::projections::Probes::schema(),
    ]
}

#[tokio::test]
async fn feed_repositories_work_on_their_printed_ddl() {
    use crate::feed::{LedgerFeedEvent, NewLedgerNote, ledger_feed_after};
    use crate::projections::{NewProbe, ProbeEvent, ProbeId, Probes};
    let scratch = scratch_from_ddl("rt_feed", &feed_repos()).await;
    let pool = scratch.pool.clone();

    let accounts = LedgerAccounts::new(&pool);
    let mut account = accounts
        .create(NewLedgerAccount::new("a", &[5]))
        .await
        .unwrap();
    account.deposit(7);
    assert_eq!(accounts.update(&mut account).await.unwrap(), 1);
    let found = accounts.find_by_name("a").await.unwrap();
    assert_eq!((found.id, found.balance), (account.id, 12));
    assert_eq!(found.events().len_persisted(), 3);

    let notes = LedgerNotes::new(&pool);
    let mut note = notes
        .create(NewLedgerNote {
            id: crate::feed::LedgerNoteId::new(),
            account_id: account.id,
            text: "first".into(),
        })
        .await
        .unwrap();
    note.edit("second");
    assert_eq!(notes.update(&mut note).await.unwrap(), 1);
    let found = notes.find_by_account_id(account.id).await.unwrap();
    assert_eq!((found.id, found.text.as_str()), (note.id, "second"));
    let page = notes
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [note.id]);

    let feed = {
        let (accounts, notes) = (&accounts, &notes);
        poll_feed(5, move || async move {
            ledger_feed_after(accounts, notes, None, 100)
                .await
                .unwrap()
                .events
        })
        .await
    };
    let order: Vec<_> = feed
        .iter()
        .map(|e| match e {
            LedgerFeedEvent::Account(e) => ("account", e.sequence),
            LedgerFeedEvent::Note(e) => ("note", e.sequence),
        })
        .collect();
    assert_eq!(
        order,
        [
            ("account", 1),
            ("account", 2),
            ("account", 3),
            ("note", 1),
            ("note", 2)
        ]
    );
    assert!(
        feed.windows(2)
            .all(|w| w[0].checkpoint() < w[1].checkpoint())
    );

    let probes = Probes { pool: pool.clone() };
    let mut probe = probes.create(NewProbe(ProbeId::new(), 1)).await.unwrap();
    probe.events_mut().push(ProbeEvent::Pinged { n: 2 });
    assert_eq!(probes.update(&mut probe).await.unwrap(), 1);
    let checkpoint = probes.feed_checkpoint_of(&probe).await.unwrap().unwrap();
    let events = {
        let probes = &probes;
        poll_feed(2, move || async move {
            probes.feed_after(None, 100).await.unwrap().events
        })
        .await
    };
    let pinged: Vec<_> = events
        .iter()
        .map(|e| (e.entity_id, e.sequence, e.event.clone()))
        .collect();
    assert_eq!(
        pinged,
        [
            (probe.id, 1, ProbeEvent::Pinged { n: 1 }),
            (probe.id, 2, ProbeEvent::Pinged { n: 2 })
        ]
    );
    assert_eq!(events[1].checkpoint(), checkpoint);
    assert!(checkpoint > feed.last().unwrap().checkpoint());
    let page = probes
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [probe.id]);
    scratch.drop().await;
}

/// `UserFeed` reads `User` events from the ledger account tables: on its
/// own scratch schema, where no ledger account's event is in its way.
#[tokio::test]
async fn the_user_feed_works_on_its_printed_ddl() {
    use crate::hygiene::feed::UserFeed;
    use crate::hygiene::{NewUser as HygieneUser, UserEvent as HygieneEvent, UserId as HygieneId};
    let repos = [crate::hygiene::feed::UserFeed::schema()];
    let scratch = scratch_from_ddl("rt_user_feed", &repos).await;
    let feed = UserFeed {
        pool: scratch.pool.clone(),
    };
    let id = HygieneId::new();
    let name = unique("fed");
    let mut user = feed
        .create(HygieneUser {
            id,
            name: name.clone(),
        })
        .await
        .unwrap();
    user.events_mut().push(HygieneEvent::NameUpdated {
        name: unique("fed-again"),
    });
    assert_eq!(feed.update(&mut user).await.unwrap(), 1);
    assert_eq!(*feed.find_by_name(&name).await.unwrap().events().id(), id);
    let page = feed
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [id]);
    let events = {
        let feed = &feed;
        poll_feed(2, move || async move {
            feed.feed_after(None, 100).await.unwrap().events
        })
        .await
    };
    let read: Vec<_> = events.iter().map(|e| (e.entity_id, e.sequence)).collect();
    assert_eq!(read, [(id, 1), (id, 2)]);
    assert!(matches!(&events[1].event, HygieneEvent::NameUpdated { .. }));
    scratch.drop().await;
}

/// `Products`' hook keeps a read model and an outbox, tables of the user's
/// own that the DDL does not print: created here by hand (as in
/// `migrations/20261129000100_inline_projection.sql`, without its test
/// trigger) in the scratch schema, so the hook's unqualified statements
/// reach them and not `public`'s.
#[tokio::test]
async fn products_and_their_hook_work_on_their_printed_ddl() {
    use crate::inline_projection::{NewProduct, Products};
    let repos = [crate::inline_projection::Products::schema()];
    let scratch = scratch_from_ddl("rt_products", &repos).await;
    scratch
        .run(
            "CREATE TABLE product_stock ( \
               id UUID PRIMARY KEY REFERENCES products(id), \
               name VARCHAR NOT NULL CHECK (name <> ''), \
               in_stock BIGINT NOT NULL, \
               version INT NOT NULL); \
             CREATE TABLE product_outbox ( \
               product_id UUID NOT NULL REFERENCES products(id), \
               sequence INT NOT NULL, \
               event_type VARCHAR NOT NULL, \
               recorded_at TIMESTAMPTZ NOT NULL, \
               PRIMARY KEY (product_id, sequence))",
        )
        .await;
    let pool = scratch.pool.clone();
    let stock = |id: Uuid| {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, (i64, i32)>(
                "SELECT in_stock, version FROM product_stock WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&pool)
            .await
            .unwrap()
        }
    };
    let outbox = |id: Uuid| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT event_type FROM product_outbox WHERE product_id = $1 ORDER BY sequence",
            )
            .bind(id)
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };

    let products = Products::new(&pool);
    let name = unique("product");
    let mut product = products.create(NewProduct::new(&name, 3)).await.unwrap();
    let id = Uuid::from(product.id);
    assert_eq!(stock(id).await, Some((3, 2)));
    product.sell(1);
    assert_eq!(products.update(&mut product).await.unwrap(), 1);
    assert_eq!(stock(id).await, Some((2, 3)));
    assert_eq!(outbox(id).await, ["listed", "restocked", "sold"]);
    assert_eq!(products.find_by_name(&name).await.unwrap().in_stock, 2);
    let page = products
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [product.id]);

    product.discontinue();
    products.delete(product).await.unwrap();
    assert_eq!(stock(id).await, None, "the hook removed the read model row");
    assert_eq!(outbox(id).await.len(), 4);
    assert!(products.maybe_find_by_name(&name).await.unwrap().is_none());
    let page = products
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert!(page.entities.is_empty());
    scratch.drop().await;
}

/// `Handles` and `TxHandles` (`in_op_only`) share `handles`: keys declared
/// `unique` (the DDL's UNIQUE constraints) are what `create_or_find` looks
/// up, soft delete hides a handle from reads.
fn handle_repos() -> Vec<RepoSchema> {
    vec![Handles::schema(), crate::in_op_only::TxHandles::schema()]
}

#[tokio::test]
async fn handle_repositories_work_on_their_printed_ddl() {
    use crate::create_or_find::{HandleEvent, HandleId};
    use crate::in_op_only::TxHandles;
    let scratch = scratch_from_ddl("rt_handles", &handle_repos()).await;
    let pool = scratch.pool.clone();

    let handles = Handles::new(&pool);
    let new = |handle: &str, email: Option<&str>| NewHandle {
        id: HandleId::new(),
        handle: handle.into(),
        email: email.map(str::to_owned),
    };
    let created = handles.create_or_find(new("h", Some("e"))).await.unwrap();
    assert!(created.was_created());
    let again = handles
        .create_or_find(new("other", Some("e")))
        .await
        .unwrap();
    assert!(!again.was_created(), "found by the unique email");
    assert_eq!(again.entity().id, created.entity().id);
    let mut handle = created.into_entity();
    // `Handle` has no command: a second claim, by hand.
    handle.events_mut().push(HandleEvent::Claimed {
        handle: "h".into(),
        email: Some("e".into()),
    });
    assert_eq!(handles.update(&mut handle).await.unwrap(), 1);
    assert_eq!(
        handles
            .find_by_email(Some("e".to_owned()))
            .await
            .unwrap()
            .id,
        handle.id
    );

    let tx_handles = TxHandles { pool: pool.clone() };
    let mut op = tx_handles.begin_op().await.unwrap();
    let in_tx = tx_handles
        .create_in_op(&mut op, new("tx", None))
        .await
        .unwrap();
    let found = tx_handles
        .find_by_handle_in_op(&mut op, "tx")
        .await
        .unwrap();
    assert_eq!(found.id, in_tx.id);
    let page = tx_handles
        .list_by_created_at_in_op(&mut op, first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [handle.id, in_tx.id]);
    op.commit().await.unwrap();

    handles.delete(handle).await.unwrap();
    let page = handles
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(
        ids_of(&page),
        [in_tx.id],
        "the deleted handle is not listed"
    );
    assert!(handles.maybe_find_by_handle("h").await.unwrap().is_none());
    scratch.drop().await;
}

/// `Vouchers`' tables are qualified (`repo_test.vouchers`): the DDL creates
/// them in `repo_test` whatever the `search_path`, so a scratch schema
/// cannot hold them (they would land in, or collide with, the test
/// database's own `repo_test`). They get a database of their own instead,
/// created here and dropped at the end, holding only the `repo_test`
/// schema and what the DDL creates in it.
#[tokio::test]
async fn vouchers_work_on_their_printed_ddl_in_a_database_of_their_own() {
    use sqlx::{Connection, PgConnection};
    let options: sqlx::postgres::PgConnectOptions =
        es_entity_tests::database_url().parse().unwrap();
    let base = options.get_database().unwrap_or("es_entity").to_owned();
    let suffix = Uuid::now_v7().simple().to_string();
    let base: String = base.chars().take(63 - 11 - 12).collect();
    let name = format!("{base}_vouchers_{}", &suffix[suffix.len() - 12..]);
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    let mut admin = PgConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {quoted}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options.clone().database(&name))
        .await
        .unwrap();
    let outcome = tokio::spawn(vouchers_round_trip(pool.clone())).await;
    pool.close().await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {quoted} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    admin.close().await.unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn vouchers_round_trip(pool: PgPool) {
    let repos = [Vouchers::schema()];
    let exists = "SELECT to_regclass('repo_test.vouchers') IS NOT NULL";
    let before: bool = sqlx::query_scalar(exists).fetch_one(&pool).await.unwrap();
    assert!(!before, "a fresh database");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA repo_test;\n{}",
        schema::to_sql(&repos)
    )))
    .execute(&pool)
    .await
    .unwrap();
    let drift = schema::check(&pool, &repos).await.unwrap();
    assert!(drift.is_clean(), "{drift}");
    let strict = schema::check_with(&pool, &repos, &CheckOptions::new().strict())
        .await
        .unwrap();
    assert!(strict.is_clean(), "{strict}");

    let vouchers = Vouchers::new(&pool);
    let code = unique("code");
    let mut issued = vouchers
        .create_all(vec![
            NewVoucher {
                id: VoucherId::new(),
                code: code.clone(),
            },
            NewVoucher {
                id: VoucherId::new(),
                code: unique("code"),
            },
        ])
        .await
        .unwrap();
    issued[0].redeem("someone");
    assert_eq!(vouchers.update(&mut issued[0]).await.unwrap(), 1);
    let found = vouchers.find_by_code(&code).await.unwrap();
    assert_eq!(
        (found.id, found.events().len_persisted()),
        (issued[0].id, 2)
    );
    let page = vouchers
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [issued[0].id, issued[1].id]);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM repo_test.voucher_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 3);
}

/// The repositories that assign ids themselves (`id(source = "repo")`),
/// both on the `coupons` tables.
fn coupon_repos() -> Vec<RepoSchema> {
    vec![
        crate::repo_ids::Coupons::schema(),
        crate::repo_ids::plain::PlainCoupons::schema(),
    ]
}

#[tokio::test]
async fn coupon_repositories_work_on_their_printed_ddl() {
    use crate::repo_ids::{CouponEvent, Coupons, new_coupon};
    let scratch = scratch_from_ddl("rt_coupons", &coupon_repos()).await;
    let pool = scratch.pool.clone();
    let coupons = Coupons::new(&pool);
    let mut one = coupons.create(new_coupon(&unique("c1"))).await.unwrap();
    let rest = coupons
        .create_all(vec![new_coupon(&unique("c2")), new_coupon(&unique("c3"))])
        .await
        .unwrap();
    // A second `Issued` is the only event a coupon has; the coupon keeps
    // its first one, the history grows.
    let code = one.code.clone();
    one.events_mut()
        .push(CouponEvent::Issued { code, percent: 20 });
    assert_eq!(coupons.update(&mut one).await.unwrap(), 1);
    let found = coupons.find_by_code(one.code.clone()).await.unwrap();
    assert_eq!((found.id, found.events().len_persisted()), (one.id, 2));
    let page = coupons
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(ids_of(&page), [one.id, rest[0].id, rest[1].id]);
    let again = coupons
        .create_or_find(new_coupon(&rest[1].code))
        .await
        .unwrap();
    assert!(matches!(again, CreateOrFind::Found(c) if c.id == rest[1].id));
    scratch.drop().await;
}

fn ledger_repos() -> Vec<RepoSchema> {
    vec![crate::snapshots::Ledgers::schema()]
}

/// The snapshot table in the printed DDL: a snapshot is stored and read.
#[tokio::test]
async fn ledger_repositories_work_on_their_printed_ddl() {
    use crate::snapshots::{Ledgers, NewLedger};
    let scratch = scratch_from_ddl("rt_ledgers", &ledger_repos()).await;
    assert!(schema::to_sql(&ledger_repos()).contains("CREATE TABLE ledger_snapshots"));
    let ledgers = Ledgers::new(&scratch.pool);
    let mut ledger = ledgers.create(NewLedger::fresh("ddl")).await.unwrap();
    for amount in 1..=3 {
        ledger.deposit(amount);
    }
    ledgers.update(&mut ledger).await.unwrap();
    let found = ledgers.find_by_id(ledger.id).await.unwrap();
    assert_eq!(found.events().loaded_from_snapshot(), Some(4));
    assert_eq!(found.state, ledger.state);
    scratch.drop().await;
}

fn nested_repos() -> Vec<RepoSchema> {
    vec![
        crate::nested::Orders::schema(),
        crate::nested::Lines::schema(),
        crate::nested_two_levels::Boards::schema(),
        crate::nested_two_levels::Lanes::schema(),
        crate::nested_two_levels::Cards::schema(),
    ]
}

/// Nested parents and children on their printed DDL: the writes reach
/// every level and the tree reads load it back.
#[tokio::test]
async fn nested_repositories_work_on_their_printed_ddl() {
    use crate::nested::{NewOrder, OrderId, Orders};
    use crate::nested_two_levels::{BoardId, Boards, NewBoard};
    let scratch = scratch_from_ddl("rt_nested", &nested_repos()).await;
    let orders = Orders::new(&scratch.pool);
    let mut order = orders
        .create(NewOrder {
            id: OrderId::new(),
            customer: "ddl".into(),
        })
        .await
        .unwrap();
    order.add_line("apple", 2);
    order.add_line("pear", 1);
    assert_eq!(orders.update(&mut order).await.unwrap(), 2);
    let found = orders.find_by_id(order.id).await.unwrap();
    assert_eq!(found.lines().map(|l| l.quantity).sum::<u32>(), 3);

    let boards = Boards::new(&scratch.pool);
    let mut board = boards
        .create(NewBoard {
            id: BoardId::new(),
            name: "ddl".into(),
        })
        .await
        .unwrap();
    let lane = board.add_lane("todo");
    boards.update(&mut board).await.unwrap();
    board.lane_mut(lane).unwrap().add_card("card");
    assert_eq!(boards.update(&mut board).await.unwrap(), 1);
    let found = boards.find_by_id(board.id).await.unwrap();
    assert_eq!(found.shape(), board.shape());
    assert_eq!(found.shape()[0].1.len(), 1);
    scratch.drop().await;
}

/// Every repository of `all_repositories()` is in one of the round trips
/// above (`Vouchers` in its own database).
#[tokio::test]
async fn every_repository_is_round_tripped() {
    let covered: Vec<String> = [
        fixture_repos(),
        vec![Lossies::schema()],
        user_repos(),
        column_repos(),
        feed_repos(),
        vec![crate::hygiene::feed::UserFeed::schema()],
        vec![crate::inline_projection::Products::schema()],
        handle_repos(),
        vec![Vouchers::schema()],
        coupon_repos(),
        ledger_repos(),
        nested_repos(),
    ]
    .concat()
    .iter()
    .map(|r| format!("{r:?}"))
    .collect();
    for repo in all_repositories() {
        assert!(
            covered.contains(&format!("{repo:?}")),
            "{} is not round-tripped",
            repo.entity()
        );
    }
    assert_eq!(covered.len(), all_repositories().len());
}
