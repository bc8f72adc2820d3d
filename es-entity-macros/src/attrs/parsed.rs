//! [`Parsed`]: an option whose parse error is kept for the model instead of
//! failing the whole attribute, and [`UnknownKeys`]: the keys no option
//! claims. Both let the model report parse errors together with its own.

use darling::FromMeta;
use darling::ast::NestedMeta;

/// The parsed value of an option, or the error darling gave for it.
pub(crate) struct Parsed<T>(pub darling::Result<T>);

impl<T: FromMeta> FromMeta for Parsed<T> {
    fn from_none() -> Option<Self> {
        T::from_none().map(|v| Parsed(Ok(v)))
    }

    fn from_meta(item: &syn::Meta) -> darling::Result<Self> {
        // As darling's derive does for a field: its span, then its name.
        Ok(Parsed(
            T::from_meta(item).map_err(|e| e.with_span(item).at_path(item.path())),
        ))
    }
}

/// The keys of an attribute that match no option, as darling's "Unknown
/// field" errors (suggesting the closest of `known`).
#[derive(Default)]
pub(crate) struct UnknownKeys(pub Vec<NestedMeta>);

impl FromMeta for UnknownKeys {
    fn from_list(items: &[NestedMeta]) -> darling::Result<Self> {
        Ok(UnknownKeys(items.to_vec()))
    }
}

impl UnknownKeys {
    pub(crate) fn errors(&self, known: &[&str]) -> Vec<darling::Error> {
        self.0
            .iter()
            .map(|item| {
                let path = match item {
                    NestedMeta::Meta(meta) => meta.path(),
                    NestedMeta::NameValueInvalidExpr(nv) => &nv.path,
                    // darling reports a literal before it gets here.
                    NestedMeta::Lit(lit) => {
                        return darling::Error::unsupported_format("literal").with_span(lit);
                    }
                };
                let name = darling::util::path_to_string(path);
                darling::Error::unknown_field_with_alts(&name, known).with_span(item)
            })
            .collect()
    }
}
