//! The check `#[derive(EsEntity)]` emits so that a crate built against
//! another sqlx release gets one plain error instead of hundreds.
//!
//! Generated code names sqlx twice: as `::sqlx` (the crate's own dependency,
//! which `sqlx::query!` expansions require) and through es-entity, which is
//! built with sqlx 0.9. When the two are different releases, every type that
//! crosses between them fails to match, and rustc's first messages suggest
//! enabling sqlx features, which does not help. The derive therefore emits
//! a struct bounded by `where ::sqlx::Postgres: SameSqlx`: it compiles only
//! when the crate's `sqlx::Postgres` is the very type es-entity uses, and
//! otherwise fails with the message below. rustc checks such bounds before
//! it checks function bodies, so this message comes before the mismatches.
//! Not part of the public API.

/// Implemented only for es-entity's own `sqlx::Postgres`.
#[diagnostic::on_unimplemented(
    message = "your crate depends on a different sqlx than es-entity (which needs sqlx 0.9)",
    label = "this `sqlx::Postgres` comes from your crate's `sqlx` dependency, not from the sqlx 0.9 es-entity uses",
    note = "set `sqlx = {{ version = \"0.9\", default-features = false, features = [\"postgres\", \"macros\", \"migrate\"] }}` in your Cargo.toml",
    note = "the other errors of this build (\"multiple different versions of crate `sqlx_core`\", hints to enable sqlx features) follow from this one; `cargo tree --duplicates` lists both sqlx releases"
)]
pub trait SameSqlx: sealed::Sealed {}

impl SameSqlx for sqlx::Postgres {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for sqlx::Postgres {}
}
