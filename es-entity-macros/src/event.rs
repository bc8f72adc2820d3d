//! `#[derive(EsEvent)]`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::event::{Event, from_input};

pub(crate) fn derive(input: &syn::DeriveInput) -> TokenStream {
    if let Err(e) = crate::shape::require_enum(input, "EsEvent") {
        return e.into_compile_error();
    }
    match from_input(input) {
        Ok(model) => expand(&model),
        Err(e) => e.write_errors(),
    }
}

fn expand(ev: &Event) -> TokenStream {
    let Event {
        ident,
        generics,
        id_ty,
        variants,
        round_trip,
    } = ev;
    let (impl_g, ty_g, where_g) = generics.split_for_impl();
    let names = variants.iter().map(|(_, n)| n);
    let arms = variants.iter().map(|(v, n)| quote!(Self::#v { .. } => #n,));
    let proven = round_trip.as_ref().map(|types| {
        quote! {
            fn __json_round_trip_proven() -> bool {
                #[allow(unused_imports)]
                use ::es_entity::__private::round_trip::{Proven as _, Unproven as _};
                true #(&& (&::es_entity::__private::round_trip::Probe::<#types>::new()).proven())*
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl #impl_g ::es_entity::EsEvent for #ident #ty_g #where_g {
            type EntityId = #id_ty;
            const EVENT_TYPES: &'static [&'static str] = &[#(#names),*];
            fn event_type(&self) -> &'static str {
                match self {
                    #(#arms)*
                }
            }
            #proven
        }
    }
}
