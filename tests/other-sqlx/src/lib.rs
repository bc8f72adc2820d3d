//! A crate with a `Postgres` type that is not sqlx 0.9's, standing in for
//! another sqlx release (say 0.8) in `tests/ui/es_entity/other_sqlx.rs`.
//! There, `extern crate other_sqlx as sqlx;` makes `::sqlx` name this crate,
//! exactly as a `sqlx = "0.8"` dependency would make it name sqlx 0.8, so the
//! case sees the error such a crate gets without building a second sqlx.

/// Not `sqlx::Postgres`, as sqlx 0.8's `Postgres` is not sqlx 0.9's.
pub struct Postgres;
