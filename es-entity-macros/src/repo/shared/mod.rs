//! Helpers the generator families share: how values are bound, the
//! write helpers (`write`) and the listing statements (`fetch`). The
//! families import from here, never from each other.

mod fetch;
mod write;

pub(super) use fetch::Fetch;
pub(super) use write::{
    ColumnArrays, after_update, column_args, column_arrays, column_locals, in_transaction,
    nothing_to_undo, writer,
};

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::model::bind::Check;
use crate::model::repo::{IdSource, Repo};

/// `::core::option::Option<::chrono::DateTime<::chrono::Utc>>`, the type of a write's time.
pub(super) fn time_ty() -> TokenStream {
    quote!(
        ::core::option::Option<
            ::es_entity::__private::chrono::DateTime<::es_entity::__private::chrono::Utc>,
        >
    )
}

/// The parameters every write binds after its columns: the event arrays.
pub(super) fn event_args(batch: &syn::Ident) -> TokenStream {
    quote! {
        &#batch.sequences[..] as &[i32],
        &#batch.event_types[..] as &[&str],
        &#batch.events as _,
        &#batch.contexts as _
    }
}

/// The bound parallel arrays of an `es_entity::__private::BulkEvents` named `batch`.
pub(super) fn bulk_event_args(batch: &syn::Ident) -> TokenStream {
    quote! {
        &#batch.entities[..] as &[i32],
        &#batch.sequences[..] as &[i32],
        &#batch.event_types[..] as &[&str],
        &#batch.events as _,
        &#batch.contexts as _
    }
}

/// `[false]`, or `[false, true]` when the repository soft-deletes: reads are
/// generated once ignoring deleted rows and once as `*_include_deleted`.
pub(super) fn deleted_variants(repo: &Repo) -> &'static [bool] {
    if repo.soft_delete {
        &[false, true]
    } else {
        &[false]
    }
}

/// The name suffix of the variant that sees deleted rows.
pub(super) fn deleted_suffix(include_deleted: bool) -> &'static str {
    if include_deleted {
        "_include_deleted"
    } else {
        ""
    }
}

/// An owned `T` from an accessor that yields `T` or `&T`. Spanned at the
/// declared type, so a type that is not `Clone` (or an accessor yielding
/// another type) is reported at the column's `ty = "..."`.
pub(super) fn owned(ty: &syn::Type, read: &TokenStream) -> TokenStream {
    quote_spanned!(ty.span()=> ::core::clone::Clone::clone(::std::borrow::Borrow::<#ty>::borrow(&(#read))))
}

/// A statement parameter for a value of the declared type `ty`; `value`
/// evaluates to `&ty`. A type sqlx maps is bound without an override, so
/// sqlx compares it with the column's type at compile time; the tokens carry
/// the declaration's span, so that error points at the column's `ty = "..."`.
/// Any other type is bound with `as &T` (sqlx cannot name what it expects)
/// and checked on first use (see `column_check`).
pub(super) fn bind(ty: &syn::Type, check: Check, value: &TokenStream) -> TokenStream {
    let span = ty.span();
    match check {
        // In parentheses of that span: sqlx reports at the expression's first token.
        Check::Sqlx => quote_spanned!(span=> (#value)),
        Check::SqlxNullable => quote_spanned!(span=> ::core::option::Option::as_ref(#value)),
        Check::FirstUse => quote_spanned!(span=> #value as &#ty),
    }
}

/// A parameter holding one column of a bulk write: `values` is a
/// `Vec<ty>`. sqlx expects `&[T]` for an array of a type it maps, and has no
/// form for an array of a nullable one, so those are overridden: the same
/// column and type are checked by `create`'s or `update`'s statement.
pub(super) fn bind_array(ty: &syn::Type, check: Check, values: &syn::Ident) -> TokenStream {
    let span = ty.span();
    match check {
        Check::Sqlx => quote_spanned!(span=> &#values[..]),
        Check::SqlxNullable | Check::FirstUse => quote_spanned!(span=> &#values[..] as &[#ty]),
    }
}

/// The first events of the `New` value `new`, consuming it. With
/// `id(source = "repo")` each call assigns a fresh id of the repository's id
/// type, so every entity of a batch gets its own.
pub(super) fn into_events(repo: &Repo, new: &syn::Ident) -> TokenStream {
    let id_ty = &repo.id_ty;
    let event_ty = &repo.event_ty;
    match repo.id_source {
        IdSource::Caller => quote!(::es_entity::IntoEvents::<#event_ty>::into_events(#new)),
        IdSource::Repo => quote! {
            ::es_entity::IntoEventsWithId::<#event_ty>::into_events(
                #new,
                <#id_ty as ::es_entity::GenerateId>::generate(),
            )
        },
    }
}
