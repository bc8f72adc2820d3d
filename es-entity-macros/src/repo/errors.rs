//! The `<Entity>Column` enum, the error aliases and the `EsRepo` impl.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::repo::Repo;
use crate::naming::upper_camel;

pub(super) fn expand(repo: &Repo) -> TokenStream {
    let Repo {
        ident,
        vis,
        generics,
        entity,
        id_ty,
        names,
        ..
    } = repo;
    let (impl_g, ty_g, where_g) = generics.split_for_impl();
    let col_enum = &names.column_enum;
    let entity_name = &names.entity;
    let mut cols = vec!["id".to_owned(), "created_at".to_owned()];
    cols.extend(repo.columns.iter().map(|c| c.name.to_string()));
    let variants: Vec<_> = cols
        .iter()
        .map(|c| format_ident!("{}", upper_camel(c)))
        .collect();
    let unchecked = &names.unchecked_modify_error;
    let (create, modify, find, query) = (
        &names.create_error,
        &names.modify_error,
        &names.find_error,
        &names.query_error,
    );
    let doc_enum = format!("The index-table columns of `{entity_name}`, as named in errors.");
    quote! {
        #[doc = #doc_enum]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy, ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::hash::Hash)]
        #vis enum #col_enum {
            #(#[allow(missing_docs)] #variants,)*
        }

        #[automatically_derived]
        impl ::es_entity::EntityColumn for #col_enum {
            type EntityId = #id_ty;
            const ENTITY: &'static str = #entity_name;
            fn from_column_name(name: &str) -> ::core::option::Option<Self> {
                match name {
                    #(#cols => ::core::option::Option::Some(Self::#variants),)*
                    _ => ::core::option::Option::None,
                }
            }
            fn column_name(&self) -> &'static str {
                match self {
                    #(Self::#variants => #cols,)*
                }
            }
        }

        #[automatically_derived]
        impl ::core::fmt::Display for #col_enum {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(::es_entity::EntityColumn::column_name(self))
            }
        }

        #[allow(missing_docs)]
        #vis type #create = ::es_entity::CreateError<#col_enum>;
        #[allow(missing_docs)]
        #vis type #modify = ::es_entity::ModifyError<#col_enum>;
        #[allow(missing_docs)]
        #vis type #unchecked = ::es_entity::UncheckedModifyError<#col_enum>;
        #[allow(missing_docs)]
        #vis type #find = ::es_entity::FindError<#col_enum>;
        #[allow(missing_docs)]
        #vis type #query = ::es_entity::QueryError<#col_enum>;

        #[automatically_derived]
        impl #impl_g ::es_entity::EsRepo for #ident #ty_g #where_g {
            type Entity = #entity;
            type CreateError = #create;
            type ModifyError = #modify;
            type FindError = #find;
            type QueryError = #query;
        }
    }
}
