use darling::{FromDeriveInput, FromVariant, ast::Data};

/// `#[es_event(id = "UserId")]` on an enum.
#[derive(FromDeriveInput)]
#[darling(attributes(es_event), supports(enum_any))]
pub(crate) struct EventOpts {
    pub ident: syn::Ident,
    pub generics: syn::Generics,
    pub data: Data<EventVariant, darling::util::Ignored>,
    pub id: Option<syn::LitStr>,
}

#[derive(FromVariant)]
pub(crate) struct EventVariant {
    pub ident: syn::Ident,
}
