//! [`Switch`]: an on/off option written as a bare word or `= true|false`.

use darling::FromMeta;
use proc_macro2::Span;
use syn::spanned::Spanned;

const EXPECTED: &str = "expected the bare option name, or `= true` / `= false`";

/// `list_by`, `list_by = true` or `list_by = false` (and the same for the
/// `pool` and `events` field markers). Any other value is an error that says
/// what to write, pointing at the value.
#[derive(Default, Clone, Copy)]
pub(crate) struct Switch {
    on: bool,
    span: Option<Span>,
}

impl Switch {
    /// Whether the option is on.
    pub fn is_present(self) -> bool {
        self.on
    }

    /// Where the option was written (the call site when it was not).
    pub fn span(self) -> Span {
        self.span.unwrap_or_else(Span::call_site)
    }
}

impl FromMeta for Switch {
    fn from_none() -> Option<Self> {
        Some(Switch::default())
    }

    fn from_meta(item: &syn::Meta) -> darling::Result<Self> {
        let on = match item {
            syn::Meta::Path(_) => true,
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Bool(b),
                    ..
                }) => b.value,
                other => return Err(darling::Error::custom(EXPECTED).with_span(other)),
            },
            syn::Meta::List(list) => {
                return Err(
                    darling::Error::custom(format!("{EXPECTED}, not a list")).with_span(list)
                );
            }
        };
        Ok(Switch {
            on,
            span: Some(item.span()),
        })
    }
}
