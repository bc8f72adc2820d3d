//! `#[derive(EsRepo)]`: one module per generated function family.

mod create;
mod errors;
mod find_by;
mod update;

use darling::FromDeriveInput;
use proc_macro2::TokenStream;
use quote::quote;

use crate::attrs::repo::RepoOpts;
use crate::model::repo::{Repo, build};

pub(crate) fn derive(input: &syn::DeriveInput) -> TokenStream {
    match RepoOpts::from_derive_input(input).and_then(build) {
        Ok(model) => expand(&model),
        Err(e) => e.write_errors(),
    }
}

fn expand(repo: &Repo) -> TokenStream {
    let Repo { ident, generics, pool, .. } = repo;
    let (impl_g, ty_g, where_g) = generics.split_for_impl();
    let errors = errors::expand(repo);
    let create = create::expand(repo);
    let update = update::expand(repo);
    let find_by = find_by::expand(repo);
    quote! {
        #errors

        #[automatically_derived]
        impl #impl_g #ident #ty_g #where_g {
            /// Begins a transaction ([`es_entity::DbOp`]) on the repository's pool.
            pub async fn begin_op(
                &self,
            ) -> ::core::result::Result<::es_entity::DbOp<'static>, ::es_entity::__private::sqlx::Error> {
                ::es_entity::DbOp::init(&self.#pool).await
            }

            #create
            #update
            #find_by
        }
    }
}

/// `::core::option::Option<::chrono::DateTime<::chrono::Utc>>`, the type of a write's time.
fn time_ty() -> TokenStream {
    quote!(::core::option::Option<::es_entity::__private::chrono::DateTime<::es_entity::__private::chrono::Utc>>)
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
