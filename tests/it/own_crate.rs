//! Keeps tests/own-crate (the crate `.ci/own-crate` builds offline and runs,
//! outside this workspace) in step with what the book tells a user to write:
//! its code is the quickstart's, its migration is the quickstart's, and the
//! `sqlx` line is the same in its Cargo.toml, the book, the README and the
//! error the derive gives a crate on another sqlx release.

use std::fs;
use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn is_anchor(line: &str) -> bool {
    let line = line.trim();
    line.starts_with("// ANCHOR:") || line.starts_with("// ANCHOR_END:")
}

/// The lines between `// ANCHOR: name` and `// ANCHOR_END: name`, without
/// the markers of anchors nested inside.
fn region(source: &str, name: &str) -> Vec<String> {
    let start = format!("// ANCHOR: {name}");
    let end = format!("// ANCHOR_END: {name}");
    let lines: Vec<&str> = source.lines().collect();
    let from = lines
        .iter()
        .position(|l| l.trim() == start)
        .unwrap_or_else(|| panic!("no `{start}`"));
    let to = lines
        .iter()
        .position(|l| l.trim() == end)
        .unwrap_or_else(|| panic!("no `{end}`"));
    lines[from + 1..to]
        .iter()
        .filter(|l| !is_anchor(l))
        .map(|l| l.to_string())
        .collect()
}

fn contains_block(haystack: &[String], block: &[String]) -> bool {
    !block.is_empty() && haystack.windows(block.len()).any(|w| w == block)
}

#[test]
fn own_crate_code_is_the_quickstart() {
    let quickstart = read("examples/quickstart.rs");
    let own: Vec<String> = read("tests/own-crate/src/main.rs")
        .lines()
        .map(str::to_owned)
        .collect();
    for name in ["entity", "repo", "es_query", "usage", "main"] {
        let block = region(&quickstart, name);
        assert!(
            contains_block(&own, &block),
            "tests/own-crate/src/main.rs lacks the quickstart's `{name}` code, \
             verbatim; copy it from examples/quickstart.rs"
        );
    }
    assert!(
        !own.iter().any(|l| l.contains("es_entity_tests")),
        "the own crate must not use this repository's test harness"
    );
}

#[test]
fn own_crate_migration_is_the_quickstart_table() {
    let name = "migrations/20261122000100_users.sql";
    assert_eq!(
        read(&format!("tests/own-crate/{name}")),
        read(name),
        "tests/own-crate/{name} differs from {name}"
    );
}

/// The function `update_unchecked` calls ships as a migration; the own
/// crate (like any user's) needs it in its own migrations, verbatim, and it
/// is what `schema()` prints and the drift check wants.
#[test]
fn own_crate_has_the_stream_tail_migration() {
    let name = "migrations/20261130000100_stream_tail.sql";
    let ours = read(name);
    assert_eq!(
        read(&format!("tests/own-crate/{name}")),
        ours,
        "tests/own-crate/{name} differs from {name}"
    );
    assert_eq!(
        ours,
        es_entity::schema::Function::stream_tail().sql(),
        "{name} differs from es-entity/src/schema/stream_tail.sql"
    );
}

/// The `sqlx = ...` line of a TOML-ish text.
fn sqlx_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("sqlx = "))
        .collect()
}

#[test]
fn the_sqlx_line_is_the_same_everywhere() {
    let manifest = read("tests/own-crate/Cargo.toml");
    let wanted = match sqlx_lines(&manifest).as_slice() {
        [one] => one.to_string(),
        other => panic!("tests/own-crate/Cargo.toml has {} sqlx lines", other.len()),
    };
    for page in [
        "book/src/own_crate.md",
        "book/src/introduction.md",
        "README.md",
    ] {
        let text = read(page);
        let found = sqlx_lines(&text);
        assert!(!found.is_empty(), "{page} does not show the sqlx line");
        for line in found {
            assert_eq!(line, wanted, "{page} shows another sqlx line");
        }
    }
    // The derive's error for a crate on another sqlx release quotes it too.
    let check = read("es-entity/src/sqlx_check.rs")
        .replace("\\\"", "\"")
        .replace("{{", "{")
        .replace("}}", "}");
    assert!(
        check.contains(&format!("`{wanted}`")),
        "es-entity/src/sqlx_check.rs does not quote `{wanted}`"
    );
}

#[test]
fn the_book_dependencies_are_the_own_crates() {
    let manifest = read("tests/own-crate/Cargo.toml");
    let page = read("book/src/own_crate.md");
    let deps: Vec<&str> = page
        .split("```toml")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("book/src/own_crate.md shows no ```toml block")
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != "[dependencies]")
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(deps.len() >= 4, "{deps:?}");
    for dep in deps {
        if dep.starts_with("es-entity ") {
            // Only its path differs: the crate sits inside this repository.
            continue;
        }
        assert!(
            manifest.lines().any(|l| l.trim() == dep),
            "book/src/own_crate.md lists `{dep}`, tests/own-crate/Cargo.toml does not"
        );
    }
}
