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
    /// The field types whose `JsonRoundTrip` proves that every value of the
    /// enum reads back from its JSON, or `None` when the enum's shape
    /// already rules that out (see `es_entity`'s `round_trip` module).
    pub round_trip: Option<Vec<syn::Type>>,
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
        round_trip: round_trip_fields(input, &variants),
        ident: opts.ident,
        generics: opts.generics,
        id_ty: id_ty.expect("checked by the accumulator"),
        variants,
    })
}

/// The field types of an enum whose shape allows the round-trip proof: no
/// generics; `#[serde(tag = "..", rename_all = "snake_case")]` and no other
/// serde attribute in it, nor any `cfg_attr`; unit or named-field variants
/// with distinct snake_case names; no field named like the tag. Anything
/// else (or anything this does not understand) is `None`: the write keeps
/// parsing each event back.
fn round_trip_fields(
    input: &syn::DeriveInput,
    variants: &[(syn::Ident, String)],
) -> Option<Vec<syn::Type>> {
    if !input.generics.params.is_empty() {
        return None;
    }
    let syn::Data::Enum(data) = &input.data else {
        return None;
    };
    let tag = enum_tag(&input.attrs)?;
    let mut names: Vec<&str> = variants.iter().map(|(_, n)| n.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    let mut types: Vec<syn::Type> = Vec::new();
    for variant in &data.variants {
        // serde names a raw identifier without its `r#`; event_type keeps it.
        if !plain(&variant.attrs) || variant.ident.to_string().starts_with("r#") {
            return None;
        }
        match &variant.fields {
            syn::Fields::Unit => {}
            syn::Fields::Unnamed(_) => return None,
            syn::Fields::Named(fields) => {
                for field in &fields.named {
                    let name = syn::ext::IdentExt::unraw(field.ident.as_ref()?).to_string();
                    if !plain(&field.attrs) || name == tag {
                        return None;
                    }
                    if !types.contains(&field.ty) {
                        types.push(field.ty.clone());
                    }
                }
            }
        }
    }
    Some(types)
}

/// The tag of `#[serde(tag = "..", rename_all = "snake_case")]` when those
/// are the enum's only serde options and it has no `cfg_attr`.
fn enum_tag(attrs: &[syn::Attribute]) -> Option<String> {
    let mut tag = None;
    let mut snake_case = false;
    for attr in attrs {
        if attr.path().is_ident("cfg_attr") {
            return None;
        }
        if !attr.path().is_ident("serde") {
            continue;
        }
        attr.parse_nested_meta(|meta| {
            let value: syn::LitStr = meta.value()?.parse()?;
            if meta.path.is_ident("tag") && tag.is_none() {
                tag = Some(value.value());
            } else if meta.path.is_ident("rename_all") && value.value() == "snake_case" {
                snake_case = true;
            } else {
                return Err(meta.error("not part of the proof"));
            }
            Ok(())
        })
        .ok()?;
    }
    tag.filter(|_| snake_case)
}

/// No serde attribute and no `cfg_attr` (which could hide one).
fn plain(attrs: &[syn::Attribute]) -> bool {
    !attrs
        .iter()
        .any(|a| a.path().is_ident("serde") || a.path().is_ident("cfg_attr"))
}
