//! Derive macros for `es-entity`. Use them through the `es-entity` crate,
//! which re-exports them; generated code names runtime items as `::es_entity::…`.
//!
//! Each derive runs three stages: `attrs` parses the attribute syntax with
//! darling, `model` validates it into resolved names (parse errors and its
//! own reported together, each spanned at the offending key), and the
//! generators emit code from the model only, sharing helpers through
//! `repo::shared`. `sql` builds every statement's text from the model.

mod attrs;
mod entity;
mod event;
mod model;
mod query;
mod repo;
mod retry;
mod shape;
mod sql;

use proc_macro::TokenStream;

/// Implements `es_entity::EsEvent` for an event enum: `#[es_event(id = "UserId")]`.
#[proc_macro_derive(EsEvent, attributes(es_event))]
pub fn derive_es_event(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    event::derive(&input).into()
}

/// Implements `es_entity::EsEntity` for an entity struct holding `EntityEvents`.
#[proc_macro_derive(EsEntity, attributes(es_entity))]
pub fn derive_es_entity(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    entity::derive(&input).into()
}

/// Generates a repository for an entity on a struct holding a `sqlx::PgPool`:
/// `#[es_repo(entity = "User", columns(name = "String"))]`.
#[proc_macro_derive(EsRepo, attributes(es_repo))]
pub fn derive_es_repo(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    repo::derive(&input).into()
}

/// Loads entities selected by a hand-written, compile-time checked query over
/// the index table. Use it inside the repository's `impl`:
/// `es_query!("SELECT id FROM users WHERE name = $1", name).fetch_optional(&self.pool)`.
#[proc_macro]
pub fn es_query(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as query::QueryInput);
    query::expand(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Retries an async `&self` method returning `Result<T, E>` (with
/// `E: es_entity::RetryableError`) when it loses an optimistic-concurrency
/// race: `#[retry_on_concurrent_modification(max_retries = 3)]`. Arguments
/// are cloned for each attempt. `transient = true` also retries transient
/// database errors; `base_delay_ms` / `max_delay_ms` set the backoff.
#[proc_macro_attribute]
pub fn retry_on_concurrent_modification(args: TokenStream, item: TokenStream) -> TokenStream {
    retry::expand(args.into(), item.into()).into()
}
