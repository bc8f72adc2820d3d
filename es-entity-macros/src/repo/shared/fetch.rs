//! The statements of one listing order, shared by `list_by`, `list_for`
//! and `list_for_filters`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::listing::{Filter, Sort};
use crate::model::repo::Repo;
use crate::sql::{self, FilterMode, ListQuery};

/// The statements of one listing order: both directions, with and without a
/// cursor. Expects `op`, `args`, `direction` and `__after: Option<&Cursor>` in scope.
pub(in crate::repo) struct Fetch<'a> {
    pub sort: &'a Sort,
    pub filters: Vec<(&'a Filter, FilterMode)>,
    pub include_deleted: bool,
}

impl Fetch<'_> {
    /// An expression evaluating to the rows; `filter_args` bind the filters in order.
    pub(in crate::repo) fn rows(&self, repo: &Repo, filter_args: &[TokenStream]) -> TokenStream {
        let id = super::bind(&repo.id_ty, repo.id_check, &quote!(&__c.id));
        let (name, ty) = (&self.sort.name, &self.sort.ty);
        let cursor_args = if self.sort.by_id() {
            quote!(#id,)
        } else {
            let value = super::bind(ty, self.sort.check, &quote!(&__c.#name));
            quote!(#value, #id,)
        };
        let (row, version) = (
            crate::repo::snapshot::row_ty(repo),
            crate::repo::snapshot::version_arg_last(repo),
        );
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
                let sql = if crate::repo::nested::is_parent(repo) {
                    let (entities, order, _) = sql::list_entities(repo, &q);
                    sql::tree(repo, &entities, &order, self.include_deleted)
                } else {
                    sql::list(repo, &q)
                };
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
                let query = if crate::repo::nested::is_parent(repo) {
                    crate::repo::nested::query_tree(
                        repo,
                        &sql,
                        quote!(__limit as i64, #cargs #(#filter_args,)*),
                    )
                } else {
                    quote! {
                        ::sqlx::query_as!(
                            #row,
                            #sql,
                            __limit as i64,
                            #cargs
                            #(#filter_args,)*
                            #version
                        )
                    }
                };
                arms.push(quote! {
                    (::es_entity::ListDirection::#dir, #pat) => {
                        ::es_entity::IntoOneTimeExecutor::into_executor(op)
                            .fetch_all(#query)
                            .await?
                    }
                });
            }
        }
        if crate::repo::nested::is_parent(repo) {
            // A tree read: the parents' rows and each nested field's.
            let split = crate::repo::nested::split_tree(repo);
            let children = crate::repo::nested::children_tuple(repo);
            return quote! {{
                let __limit: i64 = ::es_entity::__private::page_limit(args.first);
                let __tree = match (direction, __after) {
                    #(#arms)*
                };
                #split
                (__p, #children)
            }};
        }
        quote! {{
            let __limit: i64 = ::es_entity::__private::page_limit(args.first);
            match (direction, __after) {
                #(#arms)*
            }
        }}
    }
}
