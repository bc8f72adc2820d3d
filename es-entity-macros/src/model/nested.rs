//! Nested entities in the models: a parent repository's
//! `#[es_repo(nested)]` fields, a child repository's `parent` column, and
//! a parent entity's `#[es_entity(nested)]` fields.

use darling::ast::Data;
use darling::error::Accumulator;
use darling::util::Override;

use super::tables;
use crate::attrs::parsed::Parsed;
use crate::attrs::quoted::Quoted;
use crate::attrs::repo::{NestedOpts, RepoField};

/// One `#[es_repo(nested)] lines: Lines` field of a parent repository.
pub(crate) struct NestedChild {
    /// The field holding the child repository.
    pub field: syn::Ident,
    /// The child repository's type.
    pub repo_ty: syn::Type,
    /// The child's index table, events table and parent-key column, as the
    /// tree read names them (checked against the child repository).
    pub index: String,
    pub events: String,
    pub parent_column: String,
}

/// A nested field before the parent entity's name is known.
pub(crate) struct Pending {
    field: syn::Ident,
    repo_ty: syn::Type,
    index: Option<String>,
    events: Option<String>,
    parent_column: Option<String>,
}

/// Takes the `nested` option out of every field that has it.
pub(crate) fn pending(
    data: &mut Data<darling::util::Ignored, RepoField>,
    errs: &mut Accumulator,
) -> Vec<Pending> {
    let Data::Struct(fields) = data else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for f in fields.fields.iter_mut() {
        let Some(Parsed(opts)) = f.nested.take() else {
            continue;
        };
        let Some(opts) = errs.handle(opts) else {
            continue;
        };
        let Some(field) = f.ident.clone() else {
            continue;
        };
        let opts = match opts {
            Override::Inherit => NestedOpts::default(),
            Override::Explicit(o) => o,
        };
        let name = |q: Option<Quoted>, errs: &mut Accumulator| match q {
            None => Some(None),
            Some(Quoted(lit)) => errs.handle(tables::checked_name(&lit)).map(Some),
        };
        let index = name(opts.tbl, errs);
        let events = name(opts.events_tbl, errs);
        let parent_column = match opts.parent_column {
            None => Some(None),
            Some(Quoted(lit)) => match lit.parse::<syn::Ident>() {
                Ok(i) => Some(Some(i.to_string())),
                Err(_) => {
                    errs.push(
                        darling::Error::custom(format!(
                            "`{}` is not a column name: `parent_column` names the child's column holding the parent's id",
                            lit.value()
                        ))
                        .with_span(&lit),
                    );
                    None
                }
            },
        };
        let (Some(index), Some(events), Some(parent_column)) = (index, events, parent_column)
        else {
            continue;
        };
        out.push(Pending {
            field,
            repo_ty: f.ty.clone(),
            index,
            events,
            parent_column,
        });
    }
    out
}

/// The nested fields with their defaults: the child's index table is the
/// field's name (`lines`), its events table follows the index table's
/// convention (`line_events`), the parent key is `<parent>_id`.
pub(crate) fn resolve(pending: Vec<Pending>, parent_entity: &str) -> Vec<NestedChild> {
    pending
        .into_iter()
        .map(|p| {
            let index = p.index.unwrap_or_else(|| p.field.to_string());
            let events = p
                .events
                .unwrap_or_else(|| tables::events_of_index("", &index));
            let parent_column = p
                .parent_column
                .unwrap_or_else(|| format!("{}_id", super::naming::snake_case(parent_entity)));
            NestedChild {
                field: p.field,
                repo_ty: p.repo_ty,
                index,
                events,
                parent_column,
            }
        })
        .collect()
}

/// The child type `T` of a `Nested<T>` field type, or an error at the type.
pub(crate) fn nested_child_type(field: &syn::Ident, ty: &syn::Type) -> darling::Result<syn::Type> {
    let err = || {
        darling::Error::custom(format!(
            "`#[es_entity(nested)]` field `{field}` must have the type `Nested<ChildEntity>` (es_entity::Nested)"
        ))
        .with_span(ty)
    };
    let syn::Type::Path(p) = ty else {
        return Err(err());
    };
    let Some(last) = p.path.segments.last() else {
        return Err(err());
    };
    if last.ident != "Nested" {
        return Err(err());
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return Err(err());
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    });
    match (types.next(), types.next()) {
        (Some(t), None) => Ok(t),
        _ => Err(err()),
    }
}
