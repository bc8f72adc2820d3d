//! `schema()`, `to_sql()` and the drift check (`es_entity::schema`):
//! every repository of the suite fits `migrations/`; deliberate drifts on a
//! scratch schema are each reported with a fix, and applying the fixes
//! makes the check clean; the DDL printed for the repositories, applied to
//! an empty schema, fits them and lets them create, update and list.

use es_entity::schema::{self, CheckOptions, DifferenceKind, Drift, RepoSchema};
use es_entity::*;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::book_list::{NewTask, Tasks};
use crate::create_or_find::{Handles, NewHandle};
use crate::feed::{LedgerAccounts, LedgerNotes, NewLedgerAccount};
use crate::quickstart::{NewUser, UserId, Users};
use crate::repo_fixtures::unique;

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
/// with `repo_test`), applied to an empty schema, fits them, also in
/// strict mode but for the extras of tables two repositories share.
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

/// Repositories on tables created from their DDL create, update, list and
/// read the feed.
#[tokio::test]
async fn repositories_work_on_their_printed_ddl() {
    let repos = [
        Users::schema(),
        Tasks::schema(),
        Handles::schema(),
        LedgerAccounts::schema(),
    ];
    let scratch = Scratch::new("round_trip").await;
    scratch.run(&schema::to_sql(&repos)).await;
    let pool = scratch.pool.clone();

    let users = Users::new(pool.clone());
    let mut user = users
        .create(NewUser {
            id: UserId::new(),
            name: "first".into(),
        })
        .await
        .unwrap();
    assert!(user.update_name("second").did_execute());
    users.update(&mut user).await.unwrap();
    assert_eq!(users.find_by_name("second").await.unwrap().id, user.id);
    let page = users
        .list_by_created_at(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert_eq!(page.entities.len(), 1);

    let tasks = Tasks::new(pool.clone());
    let mut task = tasks.create(NewTask::new("p", "t", Some(2))).await.unwrap();
    task.assign("someone");
    tasks.update(&mut task).await.unwrap();
    let page = tasks
        .list_for_assignee_by_created_at(
            Some("someone".to_owned()),
            first(10),
            ListDirection::Ascending,
        )
        .await
        .unwrap();
    assert_eq!(page.entities.len(), 1);
    task.delete();
    tasks.delete(task).await.unwrap();
    let page = tasks
        .list_by_title(first(10), ListDirection::Ascending)
        .await
        .unwrap();
    assert!(page.entities.is_empty());

    let handles = Handles::new(&pool);
    let new = || NewHandle {
        id: crate::create_or_find::HandleId::new(),
        handle: "h".into(),
        email: Some("e".into()),
    };
    let first = handles.create_or_find(new()).await.unwrap();
    let again = handles.create_or_find(new()).await.unwrap();
    assert!(first.was_created() && !again.was_created());

    let accounts = LedgerAccounts::new(&pool);
    let mut account = accounts
        .create(NewLedgerAccount::new("a", &[5]))
        .await
        .unwrap();
    account.deposit(7);
    accounts.update(&mut account).await.unwrap();
    let found = accounts.find_by_id(account.id).await.unwrap();
    assert_eq!(found.balance, 12);
    assert_eq!(found.events().len_persisted(), 3);

    scratch.drop().await;
}
