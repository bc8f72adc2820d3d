//! Compile-fail tests: each `tests/ui/<category>/<case>.rs` must fail to
//! compile with exactly the message in the `.stderr` next to it.
//!
//! Compiler wording changes between releases, so the expected output is tied
//! to one toolchain and other toolchains skip the test. After a toolchain
//! change, update the version below and refresh the files with
//! `TRYBUILD=overwrite cargo test --test ui`, then read every changed
//! `.stderr`. No case needs a database.

#[rustversion::stable(1.95)]
#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*/*.rs");
}

#[rustversion::not(stable(1.95))]
#[test]
#[ignore = "the .stderr files are written for rustc 1.95; other compilers word errors differently"]
fn ui() {}
