//! Makes sure the bench tables exist before the 0.12.10 peer's generated
//! `sqlx::query!` statements are checked online (see ../build_common.rs).
#[path = "../build_common.rs"]
mod build_common;
#[path = "../src/schema.rs"]
mod schema;

fn main() {
    build_common::run("..");
}
