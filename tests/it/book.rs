//! Keeps the book honest: every ```rust block in book/src must be an mdbook
//! `{{#include}}` of a file compiled into this test binary (a module declared
//! in main.rs, or a file such a module pulls in with `#[path = "..."]`, e.g.
//! an example), and named anchors must exist. So the code a reader sees is
//! code that compiled and passed here.

use std::fs;
use std::path::{Component, Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Problems found in one markdown file, as `file:line: message`.
fn check_markdown(md_path: &Path, text: &str, tested: &[PathBuf]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let Some(info) = line.trim_start().strip_prefix("```") else {
            continue;
        };
        let lang = info.split([',', ' ']).next().unwrap_or("").trim();
        let mut body = Vec::new();
        for (m, inner) in lines.by_ref() {
            if inner.trim_start().starts_with("```") {
                break;
            }
            if !inner.trim().is_empty() {
                body.push((m, inner.trim()));
            }
        }
        if lang != "rust" {
            continue;
        }
        let at = format!("{}:{}", md_path.display(), n + 1);
        match body.as_slice() {
            [(_, only)] => {
                if let Err(why) = check_include(md_path, only, tested) {
                    problems.push(format!("{at}: {why}"));
                }
            }
            _ => problems.push(format!(
                "{at}: a rust block must hold exactly one {{{{#include ...}}}} line, \
                 so its code is compiled and tested (found {} lines)",
                body.len()
            )),
        }
    }
    problems
}

/// Checks one `{{#include path[:anchor]}}` line.
fn check_include(md_path: &Path, line: &str, tested: &[PathBuf]) -> Result<(), String> {
    let target = line
        .strip_prefix("{{#include ")
        .and_then(|rest| rest.strip_suffix("}}"))
        .ok_or_else(|| format!("`{line}` is not an mdbook {{{{#include ...}}}}"))?
        .trim();
    let (file, anchor) = match target.split_once(':') {
        Some((file, anchor)) => (file, Some(anchor)),
        None => (target, None),
    };
    let resolved = normalize(&md_path.parent().unwrap_or(Path::new("")).join(file));
    if !tested.contains(&resolved) {
        return Err(format!(
            "`{file}` is not compiled into the `it` test binary \
             (declare it with `mod` in tests/it/main.rs or pull it in with `#[path]`)"
        ));
    }
    let source = fs::read_to_string(&resolved)
        .map_err(|e| format!("cannot read `{}`: {e}", resolved.display()))?;
    if let Some(anchor) = anchor {
        let has = |marker: &str| {
            source
                .lines()
                .any(|l| l.trim() == format!("// {marker}: {anchor}"))
        };
        if !has("ANCHOR") || !has("ANCHOR_END") {
            return Err(format!(
                "`{file}` has no `// ANCHOR: {anchor}` ... `// ANCHOR_END: {anchor}` pair"
            ));
        }
    }
    Ok(())
}

/// Resolves `.` and `..` without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The files compiled into this binary: tests/it/main.rs, the modules it
/// declares, and files pulled in with `#[path = "..."]` (relative to tests/it
/// both in main.rs and in its modules).
fn tested_files() -> Vec<PathBuf> {
    let dir = root().join("tests/it");
    let main = dir.join("main.rs");
    let mut files = vec![normalize(&main)];
    let mut i = 0;
    while i < files.len() {
        let file = files[i].clone();
        i += 1;
        let Ok(source) = fs::read_to_string(&file) else {
            continue;
        };
        let mut path_attr = None;
        for line in source.lines().map(str::trim) {
            if let Some(path) = line
                .strip_prefix("#[path = \"")
                .and_then(|rest| rest.strip_suffix("\"]"))
            {
                path_attr = Some(path.to_owned());
                continue;
            }
            let module = line
                .strip_prefix("pub ")
                .unwrap_or(line)
                .strip_prefix("mod ")
                .and_then(|rest| rest.strip_suffix(';'));
            let Some(module) = module else {
                continue;
            };
            let found = match path_attr.take() {
                Some(path) => dir.join(path),
                // Only main.rs declares modules that live directly in tests/it.
                None if file == main => dir.join(format!("{module}.rs")),
                None => continue,
            };
            let found = normalize(&found);
            if !files.contains(&found) {
                files.push(found);
            }
        }
    }
    files
}

fn book_pages() -> Vec<PathBuf> {
    let dir = root().join("book/src");
    let mut pages: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "md"))
        .collect();
    pages.sort();
    pages
}

#[test]
fn rust_blocks_are_includes_of_tested_code() {
    let tested = tested_files();
    let pages = book_pages();
    assert!(pages.len() > 1, "book/src holds no chapters");
    let mut problems = Vec::new();
    let mut includes = 0;
    for page in &pages {
        let text = fs::read_to_string(page).unwrap();
        includes += text.matches("{{#include ").count();
        problems.extend(check_markdown(page, &text, &tested));
    }
    assert!(includes > 0, "the book includes no code at all");
    assert!(
        problems.is_empty(),
        "book problems:\n{}",
        problems.join("\n")
    );
}

/// Every `{{#include path[:anchor]}}` of the book, whatever the block's
/// language (the PgBouncer settings are `ini`): the file exists and holds
/// the anchor pair, in any comment syntax, as mdbook reads it.
#[test]
fn every_include_names_an_existing_file_and_anchor() {
    let mut problems = Vec::new();
    for page in book_pages() {
        let text = fs::read_to_string(&page).unwrap();
        for (n, line) in text.lines().enumerate() {
            let Some(target) = line
                .trim()
                .strip_prefix("{{#include ")
                .and_then(|rest| rest.strip_suffix("}}"))
            else {
                continue;
            };
            let (file, anchor) = match target.trim().split_once(':') {
                Some((file, anchor)) => (file, Some(anchor)),
                None => (target.trim(), None),
            };
            let at = format!("{}:{}", page.display(), n + 1);
            let resolved = normalize(&page.parent().unwrap().join(file));
            let Ok(source) = fs::read_to_string(&resolved) else {
                problems.push(format!("{at}: cannot read `{file}`"));
                continue;
            };
            if let Some(anchor) = anchor {
                let marked = |marker: &str| {
                    source.lines().any(|l| {
                        l.split_once(marker)
                            .is_some_and(|(_, rest)| rest.trim() == anchor)
                    })
                };
                if !marked("ANCHOR:") || !marked("ANCHOR_END:") {
                    problems.push(format!("{at}: `{file}` has no anchor pair `{anchor}`"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn tested_files_are_found() {
    let files = tested_files();
    for module in ["main", "book", "book_entity", "db_op"] {
        let path = root().join(format!("tests/it/{module}.rs"));
        assert!(
            files.contains(&path),
            "{} missing from {files:?}",
            path.display()
        );
    }
    assert!(files.iter().all(|f| f.is_file()), "{files:?}");
}

#[test]
fn summary_lists_every_chapter() {
    let src = root().join("book/src");
    let summary = fs::read_to_string(src.join("SUMMARY.md")).unwrap();
    let linked: Vec<&str> = summary
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(link, _)| link))
        .collect();
    for link in &linked {
        assert!(
            src.join(link).is_file(),
            "SUMMARY.md links to missing `{link}`"
        );
    }
    for page in book_pages() {
        let name = page.file_name().unwrap().to_str().unwrap();
        if name != "SUMMARY.md" {
            assert!(
                linked.contains(&name),
                "`{name}` is not listed in SUMMARY.md"
            );
        }
    }
}

#[test]
fn the_checker_rejects_what_it_should() {
    let md = root().join("book/src/example.md");
    let tested = vec![root().join("tests/it/book_entity.rs")];
    let check = |text: &str| check_markdown(&md, text, &tested);

    let good = "# T\n```rust\n{{#include ../../tests/it/book_entity.rs:events}}\n```\n";
    assert_eq!(check(good), Vec::<String>::new());
    let whole_file = "```rust,ignore\n{{#include ../../tests/it/book_entity.rs}}\n```\n";
    assert_eq!(check(whole_file), Vec::<String>::new());
    let other_lang = "```toml\n[dependencies]\n```\n```\nplain\n```\n";
    assert_eq!(check(other_lang), Vec::<String>::new());

    let inline = "```rust\nfn main() {}\n```\n";
    assert!(check(inline)[0].contains("example.md:1: `fn main() {}` is not an mdbook"));
    let mixed =
        "text\n```rust\n{{#include ../../tests/it/book_entity.rs:events}}\nlet x = 1;\n```\n";
    assert!(check(mixed)[0].contains("example.md:2: a rust block must hold exactly one"));
    let no_anchor = "```rust\n{{#include ../../tests/it/book_entity.rs:nope}}\n```\n";
    assert!(check(no_anchor)[0].contains("no `// ANCHOR: nope`"));
    let missing = "```rust\n{{#include ../../tests/it/book_missing.rs:x}}\n```\n";
    assert!(
        check(missing)[0].contains("book_missing.rs` is not compiled into the `it` test binary")
    );
    let outside = "```rust\n{{#include ../../es-entity/src/lib.rs}}\n```\n";
    assert!(check(outside)[0].contains("is not compiled into"));
    let empty = "```rust\n```\n";
    assert!(check(empty)[0].contains("found 0 lines"));
}
