use darling::ast::Data;

use crate::attrs::event::EventOpts;
use crate::naming::snake_case;

/// A validated `EsEvent` derive.
pub(crate) struct Event {
    pub ident: syn::Ident,
    pub generics: syn::Generics,
    pub id_ty: syn::Type,
    /// (variant, event_type) in declaration order.
    pub variants: Vec<(syn::Ident, String)>,
}

pub(crate) fn build(opts: EventOpts) -> darling::Result<Event> {
    let mut errs = darling::Error::accumulator();
    let id_ty = match &opts.id {
        Some(lit) => errs.handle(super::parse_type(lit)),
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
