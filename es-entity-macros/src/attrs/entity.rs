use darling::{FromDeriveInput, FromField, ast::Data};

use super::parsed::{Parsed, UnknownKeys};
use super::quoted::Quoted;
use super::switch::Switch;

/// `#[es_entity(new = "NewUser", event = "UserEvent")]` on a struct.
#[derive(FromDeriveInput)]
#[darling(attributes(es_entity), supports(struct_named))]
pub(crate) struct EntityOpts {
    pub ident: syn::Ident,
    pub generics: syn::Generics,
    pub data: Data<darling::util::Ignored, EntityField>,
    pub new: Option<Parsed<Quoted>>,
    pub event: Option<Parsed<Quoted>>,
    #[darling(flatten)]
    pub unknown: UnknownKeys,
}

/// The options of `#[es_entity(...)]`, suggested for an unknown key.
pub(crate) const ENTITY_KEYS: &[&str] = &["new", "event"];

#[derive(FromField)]
#[darling(attributes(es_entity))]
pub(crate) struct EntityField {
    pub ident: Option<syn::Ident>,
    pub ty: syn::Type,
    pub events: Parsed<Switch>,
    /// `nested`: the field holds child entities (`Nested<Child>`).
    pub nested: Parsed<Switch>,
}
