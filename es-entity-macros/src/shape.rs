//! Shape checks that run before darling, so a derive on the wrong kind of
//! item gets a message naming the derive, pointed at `struct` / `enum`.

use proc_macro2::Span;

fn keyword(input: &syn::DeriveInput) -> (Span, &'static str) {
    match &input.data {
        syn::Data::Struct(s) => (s.struct_token.span, "a struct"),
        syn::Data::Enum(e) => (e.enum_token.span, "an enum"),
        syn::Data::Union(u) => (u.union_token.span, "a union"),
    }
}

/// `#[derive(EsEvent)]` needs an enum.
pub(crate) fn require_enum(input: &syn::DeriveInput, derive: &str) -> syn::Result<()> {
    match &input.data {
        syn::Data::Enum(_) => Ok(()),
        _ => {
            let (span, what) = keyword(input);
            Err(syn::Error::new(
                span,
                format!("`#[derive({derive})]` goes on the event enum, not on {what}"),
            ))
        }
    }
}

/// `#[derive(EsEntity)]` / `#[derive(EsRepo)]` need a struct with named fields.
pub(crate) fn require_named_struct(input: &syn::DeriveInput, derive: &str) -> syn::Result<()> {
    match &input.data {
        syn::Data::Struct(syn::DataStruct {
            fields: syn::Fields::Named(_),
            ..
        }) => Ok(()),
        syn::Data::Struct(_) => Err(syn::Error::new(
            keyword(input).0,
            format!("`#[derive({derive})]` needs a struct with named fields"),
        )),
        _ => {
            let (span, what) = keyword(input);
            Err(syn::Error::new(
                span,
                format!("`#[derive({derive})]` goes on a struct with named fields, not on {what}"),
            ))
        }
    }
}
