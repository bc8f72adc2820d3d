//! The body of both build scripts (the bench binary's and the peer crate's).

use super::schema;

/// `root`: the bench folder relative to the package being built.
pub fn run(root: &str) {
    println!("cargo:rerun-if-changed={root}/migrations");
    println!("cargo:rerun-if-changed={root}/src/schema.rs");
    println!("cargo:rerun-if-changed={root}/build_common.rs");
    println!("cargo:rerun-if-env-changed=DATABASE_URL");
    let url = schema::database_url();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the build script");
    if let Err(e) = runtime.block_on(schema::prepare(&url)) {
        panic!(
            "es-entity-bench needs PostgreSQL at build time (its queries are checked \
             online against the bench tables): {e}. Start PostgreSQL or set DATABASE_URL."
        );
    }
    // Online checking against this database, whatever the environment or the
    // parent folder's .cargo/config.toml says (it sets SQLX_OFFLINE=true and an
    // SQLX_OFFLINE_DIR, where online builds would write their query files).
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let sqlx_dir = out_dir.join("sqlx-online");
    std::fs::create_dir_all(&sqlx_dir).expect("create OUT_DIR/sqlx-online");
    println!("cargo:rustc-env=DATABASE_URL={url}");
    println!("cargo:rustc-env=SQLX_OFFLINE=false");
    println!("cargo:rustc-env=SQLX_OFFLINE_DIR={}", sqlx_dir.display());
}
