//! Table names, shared by `#[derive(EsRepo)]` and `es_query!`: the naming
//! convention and the check that a name can go into SQL text verbatim.

use super::naming::{plural, singular, snake_case};

/// Table names.
pub(crate) struct Tables {
    pub index: String,
    pub events: String,
}

/// What `tbl_prefix = "app"` adds in front of a default name: `app_`.
pub(crate) fn prefix(tbl_prefix: Option<&str>) -> String {
    tbl_prefix.map(|p| format!("{p}_")).unwrap_or_default()
}

/// The default index table of an entity: `<prefix>users` for `User`.
pub(crate) fn default_index(prefix: &str, entity_name: &str) -> String {
    format!("{prefix}{}", plural(&snake_case(entity_name)))
}

/// The default events table of an entity: `<prefix>user_events` for `User`.
pub(crate) fn default_events(prefix: &str, entity_name: &str) -> String {
    events_of_singular(prefix, &snake_case(entity_name))
}

/// The events table that goes with an index table named by the default
/// convention (`es_query!` reads it from the SQL): `<prefix>users` ->
/// `<prefix>user_events`. `index` is given without the prefix.
pub(crate) fn events_of_index(prefix: &str, index: &str) -> String {
    events_of_singular(prefix, &singular(index))
}

/// The default snapshot table of an entity: `<prefix>user_snapshots` for `User`.
pub(crate) fn default_snapshots(prefix: &str, entity_name: &str) -> String {
    format!("{prefix}{}_snapshots", snake_case(entity_name))
}

/// The snapshot table that goes with an index table named by the default
/// convention (`es_query!(snapshot, ...)`): `<prefix>users` -> `<prefix>user_snapshots`.
pub(crate) fn snapshots_of_index(prefix: &str, index: &str) -> String {
    format!("{prefix}{}_snapshots", singular(index))
}

fn events_of_singular(prefix: &str, singular: &str) -> String {
    format!("{prefix}{singular}_events")
}

/// A table name (or `tbl_prefix`) as written: it goes into SQL text
/// verbatim, so only plain identifiers are allowed.
pub(crate) fn checked_name(lit: &syn::LitStr) -> darling::Result<String> {
    let name = lit.value();
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
    if ok {
        Ok(name)
    } else {
        Err(darling::Error::custom(format!(
            "`{name}` is not a plain table name (lowercase letters, digits, `_`, optional `schema.`)"
        ))
        .with_span(lit))
    }
}
