//! Cursor structs (`<Entity>By<Col>Cursor`), the `<Entity>Cursor` and
//! `<Entity>SortBy` enums and the `<Entity>Filters` struct.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::listing::{Sort, SortSource};
use crate::model::repo::Repo;

pub(super) fn expand(repo: &Repo) -> TokenStream {
    let Repo {
        vis,
        names,
        sorts,
        filters,
        ..
    } = repo;
    let structs = sorts.iter().map(|s| cursor_struct(repo, s));
    let (cursor_enum, sort_by, filters_struct) = (
        &names.cursor_enum,
        &names.sort_by_enum,
        &names.filters_struct,
    );
    let variants: Vec<_> = sorts.iter().map(|s| &s.variant).collect();
    let by_variants: Vec<_> = sorts.iter().map(|s| &s.cursor_variant).collect();
    let cursors: Vec<_> = sorts.iter().map(|s| &s.cursor).collect();
    let col_names: Vec<_> = sorts.iter().map(|s| s.name.to_string()).collect();
    let filter_names: Vec<_> = filters.iter().map(|f| &f.name).collect();
    let by_docs = col_names
        .iter()
        .map(|c| format!("A cursor of the listing by `{c}`."));
    let sort_docs = col_names.iter().map(|c| format!("By `{c}`."));
    let filter_docs = filter_names
        .iter()
        .map(|f| format!("Only entities whose `{f}` equals this value."));
    let filter_tys: Vec<_> = filters.iter().map(|f| &f.ty).collect();
    let entity = &names.entity;
    let entity_ty = &repo.entity;
    let doc_cursor = format!("A cursor of any `{entity}` listing order, for `list_for_filters`.");
    let doc_sort = format!("The orders `{entity}` entities can be listed in.");
    let doc_filters = "Filters of `list_for_filters`: each field set to `Some` restricts the listing to that value.";
    quote! {
        #(#structs)*

        #[doc = #doc_cursor]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::es_entity::__private::serde::Serialize, ::es_entity::__private::serde::Deserialize)]
        #[serde(crate = "::es_entity::__private::serde")]
        #vis enum #cursor_enum {
            #(#[doc = #by_docs] #by_variants(#cursors),)*
        }

        #[automatically_derived]
        impl #cursor_enum {
            /// The listing order this cursor belongs to.
            pub fn sort_by(&self) -> #sort_by {
                match self {
                    #(Self::#by_variants(_) => #sort_by::#variants,)*
                }
            }

            /// The cursor of `entity` in the listing order `sort_by` (e.g.
            /// each edge's cursor of a `list_for_filters` page).
            pub fn of(sort_by: #sort_by, entity: &#entity_ty) -> Self {
                match sort_by {
                    #(#sort_by::#variants => Self::#by_variants(#cursors::from(entity)),)*
                }
            }
        }

        #(
            #[automatically_derived]
            impl ::core::convert::From<#cursors> for #cursor_enum {
                fn from(c: #cursors) -> Self {
                    Self::#by_variants(c)
                }
            }
        )*

        #[doc = #doc_sort]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy, ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::hash::Hash, ::es_entity::__private::serde::Serialize, ::es_entity::__private::serde::Deserialize)]
        #[serde(crate = "::es_entity::__private::serde")]
        #vis enum #sort_by {
            #(#[doc = #sort_docs] #variants,)*
        }

        #[automatically_derived]
        impl #sort_by {
            /// The index-table column of this order.
            pub fn column_name(&self) -> &'static str {
                match self {
                    #(Self::#variants => #col_names,)*
                }
            }
        }

        #[doc = #doc_filters]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::default::Default)]
        #vis struct #filters_struct {
            #(#[doc = #filter_docs] pub #filter_names: ::core::option::Option<#filter_tys>,)*
        }
    }
}

fn cursor_struct(repo: &Repo, sort: &Sort) -> TokenStream {
    let Repo {
        vis, entity, id_ty, ..
    } = repo;
    let Sort {
        name,
        ty,
        cursor,
        source,
        ..
    } = sort;
    let entity_var = format_ident!("entity");
    let id = quote!(::core::clone::Clone::clone(::es_entity::EsEntity::events(#entity_var).id()));
    let id_doc = "The id of the last entity of the page.";
    let value_doc = format!("Its `{name}`.");
    let (fields, init) = match source {
        SortSource::Id => (quote!(#[doc = #id_doc] pub id: #id_ty,), quote!(id: #id,)),
        SortSource::CreatedAt => (
            quote!(#[doc = #id_doc] pub id: #id_ty, #[doc = #value_doc] pub #name: #ty,),
            quote! {
                id: #id,
                // A listed entity is always persisted; an unsaved one has no creation time.
                #name: ::es_entity::EsEntity::events(#entity_var)
                    .entity_first_persisted_at()
                    .unwrap_or_default(),
            },
        ),
        SortSource::Column(acc) => {
            let value = super::shared::owned(ty, &acc.read(&entity_var, name));
            (
                quote!(#[doc = #id_doc] pub id: #id_ty, #[doc = #value_doc] pub #name: #ty,),
                quote!(id: #id, #name: #value,),
            )
        }
    };
    let doc = format!("Where a listing by `{name}` stopped: pass it as `after` for the next page.");
    quote! {
        #[doc = #doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::es_entity::__private::serde::Serialize, ::es_entity::__private::serde::Deserialize)]
        #[serde(crate = "::es_entity::__private::serde")]
        #vis struct #cursor {
            #fields
        }

        #[automatically_derived]
        impl ::core::convert::From<&#entity> for #cursor {
            fn from(#entity_var: &#entity) -> Self {
                Self { #init }
            }
        }
    }
}
