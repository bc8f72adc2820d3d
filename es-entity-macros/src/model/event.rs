use darling::FromDeriveInput;
use darling::ast::Data;

use super::naming::snake_case;
use crate::attrs::event::{EVENT_KEYS, EventOpts};
use crate::attrs::quoted::Quoted;

/// A validated `EsEvent` derive.
pub(crate) struct Event {
    pub ident: syn::Ident,
    pub generics: syn::Generics,
    pub id_ty: syn::Type,
    /// (variant, event_type) in declaration order.
    pub variants: Vec<(syn::Ident, String)>,
}

/// Parses `#[es_event(...)]` and builds the model, reporting parse and
/// model errors together.
pub(crate) fn from_input(input: &syn::DeriveInput) -> darling::Result<Event> {
    let opts = EventOpts::from_derive_input(input)?;
    let mut errs = darling::Error::accumulator();
    for e in opts.unknown.errors(EVENT_KEYS) {
        errs.push(e);
    }
    let id_ty = match opts.id {
        Some(parsed) => errs
            .handle(parsed.0)
            .and_then(|Quoted(lit)| errs.handle(super::parse_type(&lit))),
        None => {
            errs.push(
                darling::Error::custom(
                    "missing entity id type: add `#[es_event(id = \"YourEntityId\")]`",
                )
                .with_span(&opts.ident),
            );
            None
        }
    };
    let variants = match opts.data {
        Data::Enum(vs) => vs
            .into_iter()
            .map(|v| {
                let name = snake_case(&v.ident.to_string());
                (v.ident, name)
            })
            .collect::<Vec<_>>(),
        Data::Struct(_) => unreachable!("darling `supports(enum_any)` rejects structs"),
    };
    if variants.is_empty() {
        errs.push(
            darling::Error::custom("an event enum needs at least one variant")
                .with_span(&opts.ident),
        );
    }
    errs.finish()?;
    Ok(Event {
        ident: opts.ident,
        generics: opts.generics,
        id_ty: id_ty.expect("checked by the accumulator"),
        variants,
    })
}
