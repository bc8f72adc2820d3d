//! The `<Entity>Column` enum, the error aliases and the `EsRepo` impl.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::repo::Repo;

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
    let cols: Vec<_> = names.columns.iter().map(|c| &c.name).collect();
    let variants: Vec<_> = names.columns.iter().map(|c| &c.variant).collect();
    let variant_docs = cols.iter().map(|c| format!("The column `{c}`."));
    let unchecked = &names.unchecked_modify_error;
    let (create, modify, find, query) = (
        &names.create_error,
        &names.modify_error,
        &names.find_error,
        &names.query_error,
    );
    let doc_create = format!("The error of creating `{entity_name}` entities.");
    let doc_modify = format!("The error of writing changes to `{entity_name}` entities.");
    let doc_unchecked =
        format!("The error of writing `{entity_name}` entities without a version check.");
    let doc_find = format!("The error of loading one `{entity_name}` that must exist.");
    let doc_query = format!("The error of reading `{entity_name}` entities.");
    let doc_enum = format!("The index-table columns of `{entity_name}`, as named in errors.");
    quote! {
        #[doc = #doc_enum]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy, ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::hash::Hash)]
        #vis enum #col_enum {
            #(#[doc = #variant_docs] #variants,)*
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

        #[doc = #doc_create]
        #vis type #create = ::es_entity::CreateError<#col_enum>;
        #[doc = #doc_modify]
        #vis type #modify = ::es_entity::ModifyError<#col_enum>;
        #[doc = #doc_unchecked]
        #vis type #unchecked = ::es_entity::UncheckedModifyError<#col_enum>;
        #[doc = #doc_find]
        #vis type #find = ::es_entity::FindError<#col_enum>;
        #[doc = #doc_query]
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
