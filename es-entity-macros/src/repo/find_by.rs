//! `find_by_<col>`, `maybe_find_by_<col>` and their `_in_op` variants.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::listing::Lookup;
use crate::model::repo::Repo;
use crate::sql;

pub(super) fn expand(repo: &Repo) -> TokenStream {
    let mut out = TokenStream::new();
    for &include_deleted in super::shared::deleted_variants(repo) {
        for lookup in &repo.lookups {
            out.extend(one(repo, lookup, include_deleted));
        }
    }
    out
}

fn one(repo: &Repo, lookup: &Lookup, include_deleted: bool) -> TokenStream {
    let Repo {
        pool,
        entity,
        names,
        ..
    } = repo;
    let (find_err, query_err, col_enum) =
        (&names.find_error, &names.query_error, &names.column_enum);
    let Lookup {
        name: column,
        ty,
        check,
        variant,
        ..
    } = lookup;
    let sql = sql::find_by(repo, lookup, include_deleted);
    let sfx = super::shared::deleted_suffix(include_deleted);
    let find = format_ident!("find_by_{}{}", column, sfx);
    let find_in_op = format_ident!("find_by_{}{}_in_op", column, sfx);
    let maybe = format_ident!("maybe_find_by_{}{}", column, sfx);
    let maybe_in_op = format_ident!("maybe_find_by_{}{}_in_op", column, sfx);
    let doc = format!(
        "Loads the `{}` whose `{column}` equals `value`{}; several matches are an error.",
        names.entity,
        if include_deleted {
            ", deleted or not"
        } else {
            ""
        },
    );
    // A `String` column takes anything `AsRef<str>` (`"x"`, `&name`, `name`);
    // other columns anything that borrows as their type.
    let arg = super::shared::bind(ty, *check, &quote!(__value));
    let (row, version) = (
        super::snapshot::row_ty(repo),
        super::snapshot::version_arg(repo),
    );
    let (param, borrowed, as_ref) = if lookup.by_str {
        (
            quote!(impl ::core::convert::AsRef<str>),
            quote!(str),
            quote!(::core::convert::AsRef::<str>::as_ref(&value)),
        )
    } else {
        (
            quote!(impl ::std::borrow::Borrow<#ty>),
            quote!(#ty),
            quote!(::std::borrow::Borrow::<#ty>::borrow(&value)),
        )
    };
    let body = if super::nested::is_parent(repo) {
        let sql = sql::tree(
            repo,
            &sql::find_by_entities(repo, lookup, include_deleted),
            "i.id",
            include_deleted,
        );
        let fetch = super::nested::fetch_tree(
            repo,
            quote!(::es_entity::IntoOneTimeExecutor::into_executor(op)),
            &sql,
            arg.clone(),
        );
        let attach = super::nested::attach(repo, quote!(::core::slice::from_mut(&mut __found)));
        quote! {
            #fetch
            let mut __found = ::es_entity::__private::find_one::<#entity, #col_enum>(
                __p,
                #col_enum::#variant,
                &__value,
            )?;
            #attach
            ::core::result::Result::Ok(__found)
        }
    } else {
        quote! {
            let __rows = ::es_entity::IntoOneTimeExecutor::into_executor(op)
                .fetch_all(::sqlx::query_as!(#row, #sql, #arg #version))
                .await?;
            ::es_entity::__private::find_one::<#entity, #col_enum>(
                __rows,
                #col_enum::#variant,
                &__value,
            )
        }
    };
    quote! {
        #[doc = #doc]
        pub async fn #find(
            &self,
            value: #param,
        ) -> ::core::result::Result<#entity, #find_err> {
            self.#find_in_op(&self.#pool, value).await
        }

        #[doc = #doc]
        pub async fn #find_in_op<'__a>(
            &self,
            op: impl ::es_entity::IntoOneTimeExecutor<'__a>,
            value: #param,
        ) -> ::core::result::Result<#entity, #find_err> {
            let __value: &#borrowed = #as_ref;
            #body
        }

        #[doc = #doc]
        pub async fn #maybe(
            &self,
            value: #param,
        ) -> ::core::result::Result<::core::option::Option<#entity>, #query_err> {
            ::es_entity::__private::maybe_found(self.#find_in_op(&self.#pool, value).await)
        }

        #[doc = #doc]
        pub async fn #maybe_in_op<'__a>(
            &self,
            op: impl ::es_entity::IntoOneTimeExecutor<'__a>,
            value: #param,
        ) -> ::core::result::Result<::core::option::Option<#entity>, #query_err> {
            ::es_entity::__private::maybe_found(self.#find_in_op(op, value).await)
        }
    }
}
