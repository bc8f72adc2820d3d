use darling::FromDeriveInput;
use darling::ast::Data;
use quote::format_ident;

use crate::attrs::entity::{ENTITY_KEYS, EntityOpts};
use crate::attrs::parsed::Parsed;
use crate::attrs::quoted::Quoted;

/// A validated `EsEntity` derive.
pub(crate) struct Entity {
    pub ident: syn::Ident,
    pub generics: syn::Generics,
    pub events_field: syn::Ident,
    pub event_ty: syn::Type,
    pub new_ty: syn::Type,
    /// `#[es_entity(nested)]` fields and their child entity types.
    pub nested: Vec<(syn::Ident, syn::Type)>,
}

/// What the fallback impl needs when the model has errors: the types, if
/// they parse. `events_field` is a placeholder the fallback never reads.
pub(crate) type Fallback = Option<Box<Entity>>;

/// Parses `#[es_entity(...)]` and builds the model, reporting parse and
/// model errors together. With errors, also the fallback's model.
pub(crate) fn from_input(input: &syn::DeriveInput) -> Result<Entity, (darling::Error, Fallback)> {
    let opts = EntityOpts::from_derive_input(input).map_err(|e| (e, None))?;
    let mut errs = darling::Error::accumulator();
    let unknown = opts.unknown.errors(ENTITY_KEYS);
    let unknown_keys = !unknown.is_empty();
    for e in unknown {
        errs.push(e);
    }
    let fields = match opts.data {
        Data::Struct(fields) => fields.fields,
        Data::Enum(_) => unreachable!("darling `supports(struct_named)` rejects enums"),
    };
    let mut marked = Vec::new();
    let mut named_events = None;
    // A marker that did not parse is reported; "no events field" would repeat it.
    let mut bad_marker = false;
    let mut nested: Vec<(syn::Ident, syn::Type)> = Vec::new();
    for f in fields {
        match errs.handle(f.nested.0) {
            Some(n) if n.is_present() => {
                if let Some(ident) = &f.ident
                    && let Some(child) = errs.handle(super::nested::nested_child_type(ident, &f.ty))
                {
                    {
                        let key = quote::quote!(#child).to_string();
                        if nested
                            .iter()
                            .any(|(_, t)| quote::quote!(#t).to_string() == key)
                        {
                            errs.push(
                                darling::Error::custom(format!(
                                    "two `#[es_entity(nested)]` fields hold `{key}`: the parent \
                                     repository finds a child type's field by its type, so each \
                                     child type can be nested once"
                                ))
                                .with_span(&f.ty),
                            );
                        } else {
                            nested.push((ident.clone(), child));
                        }
                    }
                }
            }
            Some(_) => {}
            None => bad_marker = true,
        }
        let Some(events) = errs.handle(f.events.0) else {
            bad_marker = true;
            continue;
        };
        if events.is_present() {
            marked.push((f.ident, events));
        } else if f.ident.as_ref().is_some_and(|i| i == "events") {
            named_events = f.ident;
        }
    }
    for (_, extra) in marked.iter().skip(1) {
        errs.push(
            darling::Error::custom("only one field can be `#[es_entity(events)]`")
                .with_span(&extra.span()),
        );
    }
    let events_field = marked
        .into_iter()
        .next()
        .and_then(|(i, _)| i)
        .or(named_events);
    if events_field.is_none() && !bad_marker {
        errs.push(
            darling::Error::custom(
                "no events field: name a field `events` or mark it `#[es_entity(events)]`",
            )
            .with_span(&opts.ident),
        );
    }
    let mut parsed = !unknown_keys && !bad_marker;
    let mut ty_or = |value: Option<Parsed<Quoted>>, default: syn::Ident| match value {
        Some(Parsed(Ok(Quoted(lit)))) => errs.handle(super::parse_type(&lit)),
        Some(Parsed(Err(e))) => {
            parsed = false;
            errs.push(e);
            None
        }
        None => Some(syn::parse_quote!(#default)),
    };
    let event_ty = ty_or(opts.event, format_ident!("{}Event", opts.ident));
    let new_ty = ty_or(opts.new, format_ident!("New{}", opts.ident));
    if let Err(e) = errs.finish() {
        // The fallback impl only when the attribute parsed, as before the
        // model ran: a parse error is reported alone.
        let fallback = event_ty
            .zip(new_ty)
            .filter(|_| parsed)
            .map(|(event_ty, new_ty)| {
                Box::new(Entity {
                    ident: opts.ident,
                    generics: opts.generics,
                    events_field: format_ident!("events"),
                    event_ty,
                    new_ty,
                    nested: Vec::new(),
                })
            });
        return Err((e, fallback));
    }
    Ok(Entity {
        ident: opts.ident,
        generics: opts.generics,
        events_field: events_field.expect("checked by the accumulator"),
        event_ty: event_ty.expect("checked by the accumulator"),
        new_ty: new_ty.expect("checked by the accumulator"),
        nested,
    })
}
