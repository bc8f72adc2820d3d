//! Validated models the generators read. Every name is resolved here.

pub(crate) mod bind;
pub(crate) mod check;
pub(crate) mod column;
pub(crate) mod entity;
pub(crate) mod event;
pub(crate) mod listing;
pub(crate) mod naming;
pub(crate) mod nested;
pub(crate) mod repo;
pub(crate) mod snapshot;
pub(crate) mod tables;

/// Parses a type written as a string literal, keeping the literal's span.
pub(crate) fn parse_type(lit: &syn::LitStr) -> darling::Result<syn::Type> {
    lit.parse::<syn::Type>().map_err(|e| {
        darling::Error::custom(format!("`{}` is not a type: {e}", lit.value())).with_span(lit)
    })
}
