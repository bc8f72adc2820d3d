use darling::ast::Data;
use quote::format_ident;

use crate::attrs::entity::EntityOpts;

/// A validated `EsEntity` derive.
pub(crate) struct Entity {
    pub ident: syn::Ident,
    pub generics: syn::Generics,
    pub events_field: syn::Ident,
    pub event_ty: syn::Type,
    pub new_ty: syn::Type,
}

pub(crate) fn build(opts: EntityOpts) -> darling::Result<Entity> {
    let mut errs = darling::Error::accumulator();
    let fields = match opts.data {
        Data::Struct(fields) => fields.fields,
        Data::Enum(_) => unreachable!("darling `supports(struct_named)` rejects enums"),
    };
    let marked: Vec<_> = fields.iter().filter(|f| f.events.is_present()).collect();
    for extra in marked.iter().skip(1) {
        errs.push(
            darling::Error::custom("only one field can be `#[es_entity(events)]`")
                .with_span(&extra.events.span()),
        );
    }
    let events_field = marked.first().and_then(|f| f.ident.clone()).or_else(|| {
        fields
            .iter()
            .filter_map(|f| f.ident.as_ref())
            .find(|i| *i == "events")
            .cloned()
    });
    if events_field.is_none() {
        errs.push(
            darling::Error::custom(
                "no events field: name a field `events` or mark it `#[es_entity(events)]`",
            )
            .with_span(&opts.ident),
        );
    }
    let or_default = |lit: &Option<syn::LitStr>, default: syn::Ident| match lit {
        Some(lit) => super::parse_type(lit),
        None => Ok(syn::parse_quote!(#default)),
    };
    let event_ty = errs.handle(or_default(
        &opts.event,
        format_ident!("{}Event", opts.ident),
    ));
    let new_ty = errs.handle(or_default(&opts.new, format_ident!("New{}", opts.ident)));
    errs.finish()?;
    Ok(Entity {
        ident: opts.ident,
        generics: opts.generics,
        events_field: events_field.expect("checked by the accumulator"),
        event_ty: event_ty.expect("checked by the accumulator"),
        new_ty: new_ty.expect("checked by the accumulator"),
    })
}

/// What the fallback impl needs when `build` fails: the types, if they parse.
/// `events_field` is a placeholder and never read by the fallback.
pub(crate) fn fallback(opts: &EntityOpts) -> Option<Entity> {
    let ty = |lit: &Option<syn::LitStr>, default: syn::Ident| match lit {
        Some(lit) => super::parse_type(lit).ok(),
        None => Some(syn::parse_quote!(#default)),
    };
    Some(Entity {
        ident: opts.ident.clone(),
        generics: opts.generics.clone(),
        events_field: format_ident!("events"),
        event_ty: ty(&opts.event, format_ident!("{}Event", opts.ident))?,
        new_ty: ty(&opts.new, format_ident!("New{}", opts.ident))?,
    })
}
