//! `#[derive(EsEntity)]`.
//!
//! Besides the trait impl, a successful derive emits a check that the crate's
//! own `::sqlx` is the sqlx es-entity is built with, so the crate must depend
//! on `sqlx` 0.9 (as every crate using the repository derive has to anyway).

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::entity::{Entity, from_input};

pub(crate) fn derive(input: &syn::DeriveInput) -> TokenStream {
    if let Err(e) = crate::shape::require_named_struct(input, "EsEntity") {
        return e.into_compile_error();
    }
    match from_input(input) {
        Ok(model) => expand(&model),
        Err((e, fallback)) => {
            // The impl with unreachable bodies keeps the one real error from
            // cascading into "EsEntity is not implemented" everywhere else.
            let mut out = e.write_errors();
            if let Some(model) = fallback {
                out.extend(expand_unreachable(&model));
            }
            out
        }
    }
}

fn expand_unreachable(en: &Entity) -> TokenStream {
    let Entity {
        ident,
        generics,
        event_ty,
        new_ty,
        ..
    } = en;
    let (impl_g, ty_g, where_g) = generics.split_for_impl();
    quote! {
        impl #impl_g ::es_entity::EsEntity for #ident #ty_g #where_g {
            type Event = #event_ty;
            type New = #new_ty;
            fn events(&self) -> &::es_entity::EntityEvents<#event_ty> {
                ::core::unreachable!()
            }
            fn events_mut(&mut self) -> &mut ::es_entity::EntityEvents<#event_ty> {
                ::core::unreachable!()
            }
        }
    }
}

fn expand(en: &Entity) -> TokenStream {
    let Entity {
        ident,
        generics,
        events_field,
        event_ty,
        new_ty,
        nested,
    } = en;
    let (impl_g, ty_g, where_g) = generics.split_for_impl();
    let parents = nested.iter().map(|(field, child)| {
        quote! {
            #[automatically_derived]
            impl #impl_g ::es_entity::Parent<#child> for #ident #ty_g #where_g {
                fn nested(&self) -> &::es_entity::Nested<#child> {
                    &self.#field
                }
                fn nested_mut(&mut self) -> &mut ::es_entity::Nested<#child> {
                    &mut self.#field
                }
            }
        }
    });
    let overrides = if nested.is_empty() {
        TokenStream::new()
    } else {
        let fields: Vec<_> = nested.iter().map(|(f, _)| f).collect();
        quote! {
            fn nested_changed(&self) -> bool {
                false #(|| ::es_entity::Nested::any_new(&self.#fields))*
            }
            fn nested_events_persisted(&self) -> usize {
                0 #(+ ::es_entity::Nested::events_persisted(&self.#fields))*
            }
        }
    };
    quote! {
        #(#parents)*

        #[automatically_derived]
        impl #impl_g ::es_entity::EsEntity for #ident #ty_g #where_g {
            type Event = #event_ty;
            type New = #new_ty;
            fn events(&self) -> &::es_entity::EntityEvents<#event_ty> {
                &self.#events_field
            }
            fn events_mut(&mut self) -> &mut ::es_entity::EntityEvents<#event_ty> {
                &mut self.#events_field
            }
            #overrides
        }

        // A crate on another sqlx release than es-entity's fails here with
        // one message saying so (see `es_entity::__private::sqlx_check`), besides the
        // many mismatches that follow from it. A where clause rather than a
        // call: rustc checks it with the item signatures, before any body,
        // so this error comes before the mismatches.
        const _: () = {
            #[allow(dead_code)]
            struct __EsEntitySameSqlx
            where
                ::sqlx::Postgres: ::es_entity::__private::sqlx_check::SameSqlx;
        };
    }
}
