//! The book's Schema chapter: the first migration printed from a
//! repository, the drift test a project keeps, and the report that tells
//! what a changed repository needs.

use es_entity::schema::{self, CheckOptions};

use crate::book_list::Tasks;
use crate::create_or_find::Handles;
use crate::quickstart::Users;
use crate::schema::Scratch;

#[test]
fn the_first_migration_is_printed_from_the_repository() {
    // ANCHOR: first_migration
    let migration = Users::schema().to_sql();
    // ANCHOR_END: first_migration
    assert_eq!(migration, include_str!("book_schema/users.sql"));
}

// ANCHOR: drift_test
/// Fails, naming every difference and the SQL that fixes it, when the
/// migrated test database is not what the repositories need.
#[tokio::test]
async fn the_database_has_what_the_repositories_need() {
    let pool = es_entity_tests::pool().await;
    es_entity::schema::assert_no_drift(
        &pool,
        &[Users::schema(), Tasks::schema(), Handles::schema()],
    )
    .await;
}
// ANCHOR_END: drift_test

/// The Task repository gained `assignee` (a `list_for` column); the
/// database still has the tables from before. The check's report is the
/// next migration.
#[tokio::test]
async fn the_report_is_the_next_migration() -> Result<(), schema::SchemaCheckError> {
    let scratch = Scratch::new("book").await;
    scratch.run(&Tasks::schema().to_sql()).await;
    // The tables as they were before `assignee` was declared.
    scratch.run("ALTER TABLE tasks DROP COLUMN assignee").await;
    let pool = scratch.pool.clone();
    let options = CheckOptions::new().schema(&scratch.name);
    // ANCHOR: evolve
    let drift = schema::check_with(&pool, &[Tasks::schema()], &options).await?;
    if !drift.is_clean() {
        println!("{drift}");
    }
    // ANCHOR_END: evolve
    assert_eq!(
        drift.to_string(),
        include_str!("book_schema/tasks_drift.txt")
    );
    scratch.run(&drift.fix_sql()).await;
    assert!(
        schema::check_with(&pool, &[Tasks::schema()], &options)
            .await?
            .is_clean()
    );
    scratch.drop().await;
    Ok(())
}
