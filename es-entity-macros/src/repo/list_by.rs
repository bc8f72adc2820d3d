//! `list_by_<col>` and the statement dispatch shared by every listing.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::repo::{Filter, Repo, Sort};
use crate::sql::{self, FilterMode, ListQuery};

pub(super) fn expand(repo: &Repo) -> TokenStream {
    let mut out = TokenStream::new();
    for &include_deleted in super::deleted_variants(repo) {
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
    let sfx = super::deleted_suffix(include_deleted);
    let list = format_ident!("list_by_{}{}", sort.name, sfx);
    let list_in_op = format_ident!("list_by_{}{}_in_op", sort.name, sfx);
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
            ::core::result::Result::Ok(::es_entity::__private::page::<#entity, #cursor>(
                __rows,
                args.first,
            )?)
        }
    }
}

/// The statements of one listing order: both directions, with and without a
/// cursor. Expects `op`, `args`, `direction` and `__after: Option<&Cursor>` in scope.
pub(super) struct Fetch<'a> {
    pub sort: &'a Sort,
    pub filters: Vec<(&'a Filter, FilterMode)>,
    pub include_deleted: bool,
}

impl Fetch<'_> {
    /// An expression evaluating to the rows; `filter_args` bind the filters in order.
    pub(super) fn rows(&self, repo: &Repo, filter_args: &[TokenStream]) -> TokenStream {
        let id = super::bind(&repo.id_ty, repo.id_check, &quote!(&__c.id));
        let (name, ty) = (&self.sort.name, &self.sort.ty);
        let cursor_args = if name == "id" {
            quote!(#id,)
        } else {
            let value = super::bind(ty, self.sort.check, &quote!(&__c.#name));
            quote!(#value, #id,)
        };
        let mut arms = Vec::new();
        for descending in [false, true] {
            for after in [false, true] {
                let q = ListQuery {
                    sort: self.sort,
                    descending,
                    after,
                    filters: self.filters.clone(),
                    include_deleted: self.include_deleted,
                };
                let sql = sql::list(repo, &q);
                let dir = if descending {
                    quote!(Descending)
                } else {
                    quote!(Ascending)
                };
                let (pat, cargs) = if after {
                    (
                        quote!(::core::option::Option::Some(__c)),
                        cursor_args.clone(),
                    )
                } else {
                    (quote!(::core::option::Option::None), quote!())
                };
                arms.push(quote! {
                    (::es_entity::ListDirection::#dir, #pat) => {
                        ::es_entity::IntoOneTimeExecutor::into_executor(op)
                            .fetch_all(::sqlx::query_as!(
                                ::es_entity::GenericEvent,
                                #sql,
                                __limit as i64,
                                #cargs
                                #(#filter_args,)*
                            ))
                            .await?
                    }
                });
            }
        }
        quote! {{
            let __limit: i64 = ::es_entity::__private::page_limit(args.first);
            match (direction, __after) {
                #(#arms)*
            }
        }}
    }
}
