//! `#[derive(EsRepo)]`: one module per generated function family.

mod batch_expecting;
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
pub(crate) mod nested;
mod post_persist;
mod schema;
mod shared;
mod snapshot;
mod sqlx_dep;
mod unchecked;
mod update;
mod update_with_retry;

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::repo::Repo;

pub(crate) fn derive(input: &syn::DeriveInput) -> TokenStream {
    if let Err(e) = crate::shape::require_named_struct(input, "EsRepo") {
        return e.into_compile_error();
    }
    match crate::model::repo::from_input(input) {
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
    let batch_expecting = batch_expecting::expand(repo);
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
    let reads_row = snapshot::reads_row(repo);
    let nested_items = nested::items(repo);
    let nested_methods = nested::methods(repo);
    let nested_versioned = nested::versioned(repo);
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
            #batch_expecting
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
            #nested_methods
            #nested_versioned
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
        #reads_row
        #nested_items
    }
}
