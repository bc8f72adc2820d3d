//! The crate deriving `EsRepo` must depend on `sqlx` itself: the derive emits
//! `sqlx::query!` calls, and sqlx's macros expand to `::sqlx::…` paths, which
//! only resolve in a crate that lists `sqlx` among its dependencies. Without
//! it every query fails with "use of unresolved module or unlinked crate
//! `sqlx`", a message that does not name the fix. So the derive reads the
//! manifest of the crate being compiled (`CARGO_MANIFEST_DIR/Cargo.toml`,
//! which cargo sets for every compilation) and, when no dependency table
//! names `sqlx`, emits one error that says what to add.
//!
//! The check only errs when it is sure: no `CARGO_MANIFEST_DIR` (a build
//! without cargo) or an unreadable manifest means no check. A manifest that
//! mentions `sqlx` as a key anywhere counts as depending on it.

use std::path::Path;

use proc_macro2::TokenStream;

use crate::model::repo::Repo;

/// The compile error to emit when the manifest being compiled lacks `sqlx`.
pub(super) fn missing(repo: &Repo) -> Option<TokenStream> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let path = Path::new(&dir).join("Cargo.toml");
    let manifest = std::fs::read_to_string(&path).ok()?;
    if declares_sqlx(&manifest) {
        return None;
    }
    let message = format!(
        "`#[derive(EsRepo)]` generates `sqlx::query!` calls, so this crate must depend on \
         `sqlx` itself (a re-export cannot stand in for it): add \
         `sqlx = {{ version = \"0.9\", features = [\"postgres\", \"macros\"] }}` \
         to `[dependencies]` in {}",
        path.display()
    );
    Some(syn::Error::new(repo.ident.span(), message).into_compile_error())
}

/// Whether any line of a `Cargo.toml` declares a dependency named `sqlx`:
/// `sqlx = ...`, `sqlx.workspace = true`, `"sqlx" = ...`, or a table header
/// ending in `.sqlx]` (`[dependencies.sqlx]`, `[target.'cfg(unix)'.dev-dependencies.sqlx]`).
fn declares_sqlx(manifest: &str) -> bool {
    manifest.lines().any(|line| {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[') {
            let header = header.trim_start_matches('[');
            let name = header.split(']').next().unwrap_or("");
            let last = name.rsplit('.').next().unwrap_or("").trim();
            return last.trim_matches(|c| c == '"' || c == '\'') == "sqlx";
        }
        let key = line.trim_start_matches(['"', '\'']);
        key.strip_prefix("sqlx").is_some_and(|rest| {
            let rest = rest.trim_start_matches(['"', '\'']).trim_start();
            rest.starts_with('=') || rest.starts_with('.')
        })
    })
}

#[cfg(test)]
mod tests {
    use super::declares_sqlx;

    #[test]
    fn finds_sqlx_however_it_is_declared() {
        for manifest in [
            "[dependencies]\nsqlx = \"0.9\"\n",
            "[dependencies]\n  sqlx = { version = \"0.9\", features = [\"postgres\"] }\n",
            "[dependencies]\nsqlx.workspace = true\n",
            "[dependencies]\n\"sqlx\" = \"0.9\"\n",
            "[dependencies.sqlx]\nversion = \"0.9\"\n",
            "[target.'cfg(unix)'.dev-dependencies.sqlx]\nversion = \"0.9\"\n",
            "[dev-dependencies]\nsqlx = \"0.9\"\n",
        ] {
            assert!(declares_sqlx(manifest), "{manifest}");
        }
    }

    #[test]
    fn other_crates_are_not_sqlx() {
        for manifest in [
            "[package]\nname = \"app\"\n[dependencies]\nes-entity = \"0.1\"\n",
            "[dependencies]\nsqlx-core = \"0.9\"\nsqlx_macros = \"0.9\"\n",
            "[dependencies.sqlx-postgres]\nversion = \"0.9\"\n",
            "[package]\ndescription = \"uses sqlx\"\n# sqlx = \"0.9\"\n",
        ] {
            assert!(!declares_sqlx(manifest), "{manifest}");
        }
    }
}
