//! `find_all`: many entities by id in one round trip.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::repo::Repo;
use crate::sql;

pub(super) fn expand(repo: &Repo) -> TokenStream {
    let mut out = TokenStream::new();
    for &include_deleted in super::shared::deleted_variants(repo) {
        out.extend(one(repo, include_deleted));
    }
    out
}

fn one(repo: &Repo, include_deleted: bool) -> TokenStream {
    let Repo {
        pool,
        entity,
        id_ty,
        names,
        ..
    } = repo;
    let err = &names.query_error;
    let sql = sql::find_all(repo, include_deleted);
    let (row, version) = (
        super::snapshot::row_ty(repo),
        super::snapshot::version_arg(repo),
    );
    let sfx = super::shared::deleted_suffix(include_deleted);
    let find_all = format_ident!("find_all{}", sfx);
    let find_all_in_op = format_ident!("find_all{}_in_op", sfx);
    let doc = format!(
        "Loads the `{}` entities with these ids{} in one round trip, keyed by id; missing ids are absent from the map.",
        names.entity,
        if include_deleted {
            ", deleted or not,"
        } else {
            ""
        }
    );
    let body = if super::nested::is_parent(repo) {
        let sql = sql::tree(
            repo,
            &sql::find_all_entities(repo, include_deleted),
            "i.id",
            include_deleted,
        );
        let fetch = super::nested::fetch_tree(
            repo,
            quote!(::es_entity::IntoOneTimeExecutor::into_executor(op)),
            &sql,
            quote!(ids as &[#id_ty]),
        );
        let attach = super::nested::attach(repo, quote!(&mut __found));
        quote! {
            #fetch
            let (mut __found, _) =
                ::es_entity::EntityEvents::load_n::<#entity>(__p, usize::MAX)?;
            #attach
            ::core::result::Result::Ok(::es_entity::__private::nested::into_map::<#entity, __Out>(__found))
        }
    } else {
        quote! {
            let __rows = ::es_entity::IntoOneTimeExecutor::into_executor(op)
                .fetch_all(::sqlx::query_as!(#row, #sql, ids as &[#id_ty] #version))
                .await?;
            ::core::result::Result::Ok(::es_entity::__private::find_all::<#entity, __Out>(__rows)?)
        }
    };
    quote! {
        #[doc = #doc]
        pub async fn #find_all<__Out: ::core::convert::From<#entity>>(
            &self,
            ids: &[#id_ty],
        ) -> ::core::result::Result<::std::collections::HashMap<#id_ty, __Out>, #err> {
            self.#find_all_in_op(&self.#pool, ids).await
        }

        #[doc = #doc]
        pub async fn #find_all_in_op<'__a, __Out: ::core::convert::From<#entity>>(
            &self,
            op: impl ::es_entity::IntoOneTimeExecutor<'__a>,
            ids: &[#id_ty],
        ) -> ::core::result::Result<::std::collections::HashMap<#id_ty, __Out>, #err> {
            if ids.is_empty() {
                return ::core::result::Result::Ok(::std::collections::HashMap::new());
            }
            #body
        }
    }
}
