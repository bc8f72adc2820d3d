//! `list_for_<filter>_by_<col>` and `list_for_filters`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::shared::Fetch;
use crate::model::bind::Check;
use crate::model::listing::Filter;
use crate::model::repo::Repo;
use crate::sql::FilterMode;

pub(super) fn expand(repo: &Repo) -> TokenStream {
    let mut out = TokenStream::new();
    for &include_deleted in super::shared::deleted_variants(repo) {
        for filter in &repo.filters {
            for &s in &filter.by {
                out.extend(one(repo, filter, s, include_deleted));
            }
        }
        out.extend(filters(repo, include_deleted));
    }
    out
}

fn one(repo: &Repo, filter: &Filter, sort: usize, include_deleted: bool) -> TokenStream {
    let Repo {
        pool,
        entity,
        names,
        ..
    } = repo;
    let sort = &repo.sorts[sort];
    let err = &names.query_error;
    let cursor = &sort.cursor;
    let (fname, fty) = (&filter.name, &filter.ty);
    let sfx = super::shared::deleted_suffix(include_deleted);
    let list = format_ident!("list_for_{}_by_{}{}", fname, sort.name, sfx);
    let list_in_op = format_ident!("list_for_{}_by_{}{}_in_op", fname, sort.name, sfx);
    let fetch = Fetch {
        sort,
        filters: vec![(filter, FilterMode::Exact)],
        include_deleted,
    };
    let page = super::nested::page_of(repo, &quote!(#cursor));
    let rows = fetch.rows(
        repo,
        &[super::shared::bind(fty, filter.check, &quote!(__filter))],
    );
    let doc = format!(
        "One page of the `{}` entities whose `{fname}` equals `filter`, ordered by `{}`{}.",
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
            filter: impl ::std::borrow::Borrow<#fty>,
            args: ::es_entity::PaginatedQueryArgs<#cursor>,
            direction: ::es_entity::ListDirection,
        ) -> ::core::result::Result<::es_entity::PaginatedQueryRet<#entity, #cursor>, #err> {
            self.#list_in_op(&self.#pool, filter, args, direction).await
        }

        #[doc = #doc]
        pub async fn #list_in_op<'__a>(
            &self,
            op: impl ::es_entity::IntoOneTimeExecutor<'__a>,
            filter: impl ::std::borrow::Borrow<#fty>,
            args: ::es_entity::PaginatedQueryArgs<#cursor>,
            direction: ::es_entity::ListDirection,
        ) -> ::core::result::Result<::es_entity::PaginatedQueryRet<#entity, #cursor>, #err> {
            let __filter: &#fty = ::std::borrow::Borrow::borrow(&filter);
            let __after = args.after.as_ref();
            let __rows = #rows;
            ::core::result::Result::Ok(#page)
        }
    }
}

fn filters(repo: &Repo, include_deleted: bool) -> TokenStream {
    let Repo {
        pool,
        entity,
        names,
        ..
    } = repo;
    let (err, cursor_enum, sort_by, filters_struct) = (
        &names.query_error,
        &names.cursor_enum,
        &names.sort_by_enum,
        &names.filters_struct,
    );
    let sfx = super::shared::deleted_suffix(include_deleted);
    let list = format_ident!("list_for_filters{}", sfx);
    let list_in_op = format_ident!("list_for_filters{}_in_op", sfx);
    let mut binds = Vec::new();
    let mut filter_args = Vec::new();
    for (i, f) in repo.filters.iter().enumerate() {
        let (name, ty) = (&f.name, &f.ty);
        let (on, value) = (format_ident!("__on{}", i), format_ident!("__value{}", i));
        binds.push(quote! {
            let #on: bool = filters.#name.is_some();
            let #value: ::core::option::Option<&#ty> = filters.#name.as_ref();
        });
        filter_args.push(quote!(#on as bool));
        filter_args.push(bind_optional(ty, f.check, &value));
    }
    let arms = repo.sorts.iter().map(|sort| {
        let fetch = Fetch {
            sort,
            filters: repo
                .filters
                .iter()
                .map(|f| (f, FilterMode::Optional))
                .collect(),
            include_deleted,
        };
        let rows = fetch.rows(repo, &filter_args);
        let (variant, cursor, by_variant) = (&sort.variant, &sort.cursor, &sort.cursor_variant);
        let page = super::nested::page_of(repo, &quote!(#cursor));
        let expected = sort.name.to_string();
        quote! {
            #sort_by::#variant => {
                let __after = match &args.after {
                    ::core::option::Option::None => ::core::option::Option::None,
                    ::core::option::Option::Some(#cursor_enum::#by_variant(c)) => {
                        ::core::option::Option::Some(c)
                    }
                    ::core::option::Option::Some(other) => {
                        return ::core::result::Result::Err(::es_entity::QueryError::CursorMismatch {
                            expected: #expected,
                            found: other.sort_by().column_name(),
                        });
                    }
                };
                let __rows = #rows;
                ::core::result::Result::Ok(#page.map_end_cursor(#cursor_enum::#by_variant))
            }
        }
    });
    let doc = format!(
        "One page of `{}` entities matching every filter that is set, in the order `sort` names{}.",
        names.entity,
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
            filters: #filters_struct,
            sort: ::es_entity::Sort<#sort_by>,
            args: ::es_entity::PaginatedQueryArgs<#cursor_enum>,
        ) -> ::core::result::Result<::es_entity::PaginatedQueryRet<#entity, #cursor_enum>, #err> {
            self.#list_in_op(&self.#pool, filters, sort, args).await
        }

        #[doc = #doc]
        pub async fn #list_in_op<'__a>(
            &self,
            op: impl ::es_entity::IntoOneTimeExecutor<'__a>,
            filters: #filters_struct,
            sort: ::es_entity::Sort<#sort_by>,
            args: ::es_entity::PaginatedQueryArgs<#cursor_enum>,
        ) -> ::core::result::Result<::es_entity::PaginatedQueryRet<#entity, #cursor_enum>, #err> {
            #(#binds)*
            let direction = sort.direction;
            match sort.by {
                #(#arms)*
            }
        }
    }
}

/// A `list_for_filters` value: `value` is an `Option<&ty>` (unset filters
/// bind NULL), checked like [`super::shared::bind`] checks a column value.
fn bind_optional(ty: &syn::Type, check: Check, value: &syn::Ident) -> TokenStream {
    let span = syn::spanned::Spanned::span(ty);
    match check {
        Check::Sqlx => quote::quote_spanned!(span=> #value),
        // `Option<&Option<T>>` -> `Option<&T>`: an unset filter and a filter
        // on NULL both bind NULL; the switch parameter tells them apart.
        Check::SqlxNullable => quote::quote_spanned!(span=>
            ::core::option::Option::flatten(::core::option::Option::map(#value, ::core::option::Option::as_ref))
        ),
        Check::FirstUse => {
            quote::quote_spanned!(span=> #value as ::core::option::Option<&#ty>)
        }
    }
}
