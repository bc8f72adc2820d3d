// `sqlx::migrate!("./migrations")` in tests/harness embeds the migration files
// at compile time, but cargo does not know it reads that folder: without this,
// adding a migration would leave the harness applying the old list.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
