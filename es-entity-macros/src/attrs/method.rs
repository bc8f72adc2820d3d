//! [`MethodName`]: an option naming a method of the repository, written as
//! a string (`post_persist_hook = "project"`).

use darling::FromMeta;
use darling::ast::NestedMeta;

/// The string literal of an option that names a method. Any other form
/// (a bare word, a list, an unquoted path, another literal) is an error
/// that shows what to write. Whether the string is a method name is
/// checked by the model, which keeps the literal's span.
pub(crate) struct MethodName(pub syn::LitStr);

const EXPECTED: &str =
    "expected the method's name as a string, e.g. `post_persist_hook = \"project\"`";

impl FromMeta for MethodName {
    fn from_word() -> darling::Result<Self> {
        Err(darling::Error::custom(EXPECTED))
    }

    fn from_list(_: &[NestedMeta]) -> darling::Result<Self> {
        Err(darling::Error::custom(format!("{EXPECTED}, not a list")))
    }

    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        match expr {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Ok(MethodName(s.clone())),
            syn::Expr::Group(g) => Self::from_expr(&g.expr),
            other => Err(darling::Error::custom(EXPECTED).with_span(other)),
        }
    }
}
