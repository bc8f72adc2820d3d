//! `#[derive(EsRepo)]`: one module per generated function family.

mod column_check;
mod create;
mod create_or_find;
mod cursor;
mod delete;
mod errors;
mod expecting;
mod feed;
mod find_all;
mod find_by;
mod in_op_only;
mod instrument;
mod list_by;
mod list_for;
mod post_persist;
mod schema;
mod sqlx_dep;
mod unchecked;
mod update;
mod update_with_retry;

use darling::FromDeriveInput;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::attrs::repo::RepoOpts;
use crate::model::bind::Check;
use crate::model::repo::{Repo, build};

pub(crate) fn derive(input: &syn::DeriveInput) -> TokenStream {
    if let Err(e) = crate::shape::require_named_struct(input, "EsRepo") {
        return e.into_compile_error();
    }
    match RepoOpts::from_derive_input(input).and_then(build) {
        Ok(model) => expand(&model),
        Err(e) => e.write_errors(),
    }
}

fn expand(repo: &Repo) -> TokenStream {
    let Repo {
        ident,
        generics,
        pool,
        ..
    } = repo;
    let (impl_g, ty_g, where_g) = generics.split_for_impl();
    let errors = errors::expand(repo);
    if let Some(missing) = sqlx_dep::missing(repo) {
        return quote!(#missing #errors);
    }
    let create = create::expand(repo);
    let create_or_find = create_or_find::expand(repo);
    let update = update::expand(repo);
    let expecting = expecting::expand(repo);
    let unchecked = unchecked::expand(repo);
    let update_with_retry = update_with_retry::expand(repo);
    let find_by = find_by::expand(repo);
    let find_all = find_all::expand(repo);
    let list_by = list_by::expand(repo);
    let list_for = list_for::expand(repo);
    let delete = delete::expand(repo);
    let cursors = cursor::expand(repo);
    let column_check = column_check::expand(repo);
    let feed = feed::expand(repo);
    let feed_source = feed::expand_source(repo);
    let post_persist = post_persist::expand(repo);
    let schema = schema::expand(repo);
    let inherent = quote! {
        #[automatically_derived]
        impl #impl_g #ident #ty_g #where_g {
            /// Begins a transaction ([`es_entity::DbOp`]) on the repository's pool.
            pub async fn begin_op(
                &self,
            ) -> ::core::result::Result<::es_entity::DbOp<'static>, ::es_entity::__private::sqlx::Error> {
                ::es_entity::DbOp::init(&self.#pool).await
            }

            #create
            #create_or_find
            #update
            #expecting
            #unchecked
            #update_with_retry
            #find_by
            #find_all
            #list_by
            #list_for
            #delete
            #column_check
            #feed
            #post_persist
        }
    };
    let inherent = in_op_only::apply(repo, inherent);
    let inherent = instrument::apply(repo, inherent);
    quote! {
        #errors
        #cursors
        #feed_source
        #inherent
        #schema
    }
}

/// `::core::option::Option<::chrono::DateTime<::chrono::Utc>>`, the type of a write's time.
fn time_ty() -> TokenStream {
    quote!(
        ::core::option::Option<
            ::es_entity::__private::chrono::DateTime<::es_entity::__private::chrono::Utc>,
        >
    )
}

/// The parameters every write binds after its columns: the event arrays.
fn event_args(batch: &syn::Ident) -> TokenStream {
    quote! {
        &#batch.sequences[..] as &[i32],
        &#batch.event_types[..] as &[&str],
        &#batch.events as _,
        &#batch.contexts as _
    }
}

/// The bound parallel arrays of an `es_entity::__private::BulkEvents` named `batch`.
fn bulk_event_args(batch: &syn::Ident) -> TokenStream {
    quote! {
        &#batch.entities[..] as &[i32],
        &#batch.columns.sequences[..] as &[i32],
        &#batch.columns.event_types[..] as &[&str],
        &#batch.columns.events as _,
        &#batch.columns.contexts as _
    }
}

/// `[false]`, or `[false, true]` when the repository soft-deletes: reads are
/// generated once ignoring deleted rows and once as `*_include_deleted`.
fn deleted_variants(repo: &Repo) -> &'static [bool] {
    if repo.soft_delete {
        &[false, true]
    } else {
        &[false]
    }
}

/// The name suffix of the variant that sees deleted rows.
fn deleted_suffix(include_deleted: bool) -> &'static str {
    if include_deleted {
        "_include_deleted"
    } else {
        ""
    }
}

/// An owned `T` from an accessor that yields `T` or `&T`.
fn owned(ty: &syn::Type, read: &TokenStream) -> TokenStream {
    quote!(::core::clone::Clone::clone(::std::borrow::Borrow::<#ty>::borrow(&(#read))))
}

/// A statement parameter for a value of the declared type `ty`; `value`
/// evaluates to `&ty`. A type sqlx maps is bound without an override, so
/// sqlx compares it with the column's type at compile time; the tokens carry
/// the declaration's span, so that error points at the column's `ty = "..."`.
/// Any other type is bound with `as &T` (sqlx cannot name what it expects)
/// and checked on first use (see `column_check`).
fn bind(ty: &syn::Type, check: Check, value: &TokenStream) -> TokenStream {
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
fn bind_array(ty: &syn::Type, check: Check, values: &syn::Ident) -> TokenStream {
    let span = ty.span();
    match check {
        Check::Sqlx => quote_spanned!(span=> &#values[..]),
        Check::SqlxNullable | Check::FirstUse => quote_spanned!(span=> &#values[..] as &[#ty]),
    }
}
