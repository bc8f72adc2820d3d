use darling::{FromDeriveInput, FromField, ast::Data};

use super::switch::Switch;

/// `#[es_entity(new = "NewUser", event = "UserEvent")]` on a struct.
#[derive(FromDeriveInput)]
#[darling(attributes(es_entity), supports(struct_named))]
pub(crate) struct EntityOpts {
    pub ident: syn::Ident,
    pub generics: syn::Generics,
    pub data: Data<darling::util::Ignored, EntityField>,
    pub new: Option<syn::LitStr>,
    pub event: Option<syn::LitStr>,
}

#[derive(FromField)]
#[darling(attributes(es_entity))]
pub(crate) struct EntityField {
    pub ident: Option<syn::Ident>,
    pub events: Switch,
}
