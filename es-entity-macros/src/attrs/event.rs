use darling::{FromDeriveInput, FromVariant, ast::Data};

use super::parsed::{Parsed, UnknownKeys};
use super::quoted::Quoted;

/// `#[es_event(id = "UserId")]` on an enum.
#[derive(FromDeriveInput)]
#[darling(attributes(es_event), supports(enum_any))]
pub(crate) struct EventOpts {
    pub ident: syn::Ident,
    pub generics: syn::Generics,
    pub data: Data<EventVariant, darling::util::Ignored>,
    pub id: Option<Parsed<Quoted>>,
    #[darling(flatten)]
    pub unknown: UnknownKeys,
}

/// The options of `#[es_event(...)]`, suggested for an unknown key.
pub(crate) const EVENT_KEYS: &[&str] = &["id"];

#[derive(FromVariant)]
pub(crate) struct EventVariant {
    pub ident: syn::Ident,
}
