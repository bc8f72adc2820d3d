//! [`Quoted`]: an option whose value is written as a string (`entity =
//! "User"`, `tbl = "users"`).

use darling::FromMeta;

/// The string literal of an option. Any other form is an error that names
/// the key and shows the quotes (darling's own says "Unexpected type").
pub(crate) struct Quoted(pub syn::LitStr);

impl FromMeta for Quoted {
    fn from_meta(item: &syn::Meta) -> darling::Result<Self> {
        let key = darling::util::path_to_string(item.path());
        let expected =
            || darling::Error::custom(format!("`{key}` takes a string: `{key} = \"...\"`"));
        match item {
            syn::Meta::NameValue(nv) => lit_str(&nv.value)
                .map(Quoted)
                .ok_or_else(|| expected().with_span(&nv.value)),
            other => Err(expected().with_span(other)),
        }
    }
}

fn lit_str(expr: &syn::Expr) -> Option<syn::LitStr> {
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.clone()),
        syn::Expr::Group(g) => lit_str(&g.expr),
        _ => None,
    }
}
