//! `#[derive(EsEntity)]`.

use darling::FromDeriveInput;
use proc_macro2::TokenStream;
use quote::quote;

use crate::attrs::entity::EntityOpts;
use crate::model::entity::{Entity, build};

pub(crate) fn derive(input: &syn::DeriveInput) -> TokenStream {
    match EntityOpts::from_derive_input(input).and_then(build) {
        Ok(model) => expand(&model),
        Err(e) => e.write_errors(),
    }
}

fn expand(en: &Entity) -> TokenStream {
    let Entity {
        ident,
        generics,
        events_field,
        event_ty,
        new_ty,
    } = en;
    let (impl_g, ty_g, where_g) = generics.split_for_impl();
    quote! {
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
        }
    }
}
