//! [`IdOpts`]: the repository's `id` option, `id = "UserId"` (the id type)
//! or `id(ty = "UserId", source = "repo")`.

use darling::FromMeta;

use super::quoted::Quoted;

const EXPECTED: &str = "`id` takes the id type, `id = \"UserId\"`, or a list, `id(source = \"repo\")` / `id(ty = \"UserId\", source = \"caller\")`";

/// `id = "UserId"` or `id(ty = "UserId", source = "repo")`. Which sources
/// exist is decided by the model, which keeps the value's span.
#[derive(Default)]
pub(crate) struct IdOpts {
    pub ty: Option<syn::LitStr>,
    pub source: Option<IdSourceValue>,
}

#[derive(FromMeta)]
struct IdList {
    ty: Option<Quoted>,
    source: Option<IdSourceValue>,
}

impl FromMeta for IdOpts {
    fn from_meta(item: &syn::Meta) -> darling::Result<Self> {
        match item {
            // The string form keeps `Quoted`'s message for a non-string value.
            syn::Meta::NameValue(_) => Quoted::from_meta(item).map(|Quoted(ty)| IdOpts {
                ty: Some(ty),
                source: None,
            }),
            syn::Meta::List(_) => IdList::from_meta(item).map(|l| IdOpts {
                ty: l.ty.map(|Quoted(ty)| ty),
                source: l.source,
            }),
            syn::Meta::Path(p) => Err(darling::Error::custom(EXPECTED).with_span(p)),
        }
    }
}

/// The value of `source`: written `"repo"` or, as the newest es-entity
/// release writes it, `repo`; either way the word and its span.
pub(crate) struct IdSourceValue {
    pub value: String,
    pub span: proc_macro2::Span,
}

const SOURCE_EXPECTED: &str = "`source` takes `\"repo\"` (the repository assigns each new entity's id) or `\"caller\"` (the `New` value carries it)";

impl FromMeta for IdSourceValue {
    fn from_word() -> darling::Result<Self> {
        Err(darling::Error::custom(SOURCE_EXPECTED))
    }

    fn from_list(_: &[darling::ast::NestedMeta]) -> darling::Result<Self> {
        Err(darling::Error::custom(SOURCE_EXPECTED))
    }

    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        use syn::spanned::Spanned;
        match expr {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Ok(IdSourceValue {
                value: s.value(),
                span: s.span(),
            }),
            syn::Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => {
                Ok(IdSourceValue {
                    value: p.path.get_ident().expect("checked").to_string(),
                    span: p.span(),
                })
            }
            syn::Expr::Group(g) => Self::from_expr(&g.expr),
            other => Err(darling::Error::custom(SOURCE_EXPECTED).with_span(other)),
        }
    }
}
