//! `list_by_<col>` and its `_in_op` variant, one per listing order.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::shared::Fetch;
use crate::model::listing::Sort;
use crate::model::repo::Repo;

pub(super) fn expand(repo: &Repo) -> TokenStream {
    let mut out = TokenStream::new();
    for &include_deleted in super::shared::deleted_variants(repo) {
        for sort in &repo.sorts {
            out.extend(one(repo, sort, include_deleted));
        }
    }
    out
}

fn one(repo: &Repo, sort: &Sort, include_deleted: bool) -> TokenStream {
    let Repo {
        pool,
        entity,
        names,
        ..
    } = repo;
    let err = &names.query_error;
    let cursor = &sort.cursor;
    let sfx = super::shared::deleted_suffix(include_deleted);
    let list = format_ident!("list_by_{}{}", sort.name, sfx);
    let list_in_op = format_ident!("list_by_{}{}_in_op", sort.name, sfx);
    let page = super::nested::page_of(repo, &quote!(#cursor));
    let rows = Fetch {
        sort,
        filters: Vec::new(),
        include_deleted,
    }
    .rows(repo, &[]);
    let doc = format!(
        "One page of `{}` entities ordered by `{}`{}.",
        names.entity,
        sort.name,
        if include_deleted {
            ", deleted ones included"
        } else {
            ""
        }
    );
    quote! {
        #[doc = #doc]
        pub async fn #list(
            &self,
            args: ::es_entity::PaginatedQueryArgs<#cursor>,
            direction: ::es_entity::ListDirection,
        ) -> ::core::result::Result<::es_entity::PaginatedQueryRet<#entity, #cursor>, #err> {
            self.#list_in_op(&self.#pool, args, direction).await
        }

        #[doc = #doc]
        pub async fn #list_in_op<'__a>(
            &self,
            op: impl ::es_entity::IntoOneTimeExecutor<'__a>,
            args: ::es_entity::PaginatedQueryArgs<#cursor>,
            direction: ::es_entity::ListDirection,
        ) -> ::core::result::Result<::es_entity::PaginatedQueryRet<#entity, #cursor>, #err> {
            let __after = args.after.as_ref();
            let __rows = #rows;
            ::core::result::Result::Ok(#page)
        }
    }
}
