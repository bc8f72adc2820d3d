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
    pub tables: NodeTables,
    /// The child repository's own nested fields (`nested(children(..))`),
    /// which the tree read loads as grandchildren.
    pub children: Vec<Grandchild>,
}

/// One grandchild: the child repository's nested field of that name.
pub(crate) struct Grandchild {
    pub field: syn::Ident,
    pub tables: NodeTables,
}

/// The tables of one node of the tree read.
pub(crate) struct NodeTables {
    pub index: String,
    pub events: String,
    pub parent_column: String,
}

/// Tables as written, before the defaults.
struct PendingTables {
    index: Option<String>,
    events: Option<String>,
    parent_column: Option<String>,
}

/// A nested field before the parent entity's name is known.
pub(crate) struct Pending {
    field: syn::Ident,
    repo_ty: syn::Type,
    tables: PendingTables,
    children: Vec<(syn::Ident, PendingTables)>,
}

/// Checks `tbl`, `events_tbl` and `parent_column` as written.
fn pending_tables(
    tbl: Option<Quoted>,
    events_tbl: Option<Quoted>,
    parent_column: Option<Quoted>,
    errs: &mut Accumulator,
) -> Option<PendingTables> {
    let name = |q: Option<Quoted>, errs: &mut Accumulator| match q {
        None => Some(None),
        Some(Quoted(lit)) => errs.handle(tables::checked_name(&lit)).map(Some),
    };
    let index = name(tbl, errs);
    let events = name(events_tbl, errs);
    let parent_column = match parent_column {
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
    Some(PendingTables {
        index: index?,
        events: events?,
        parent_column: parent_column?,
    })
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
        let tables = pending_tables(opts.tbl, opts.events_tbl, opts.parent_column, errs);
        let mut children = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (name, t) in opts.children.map(|c| c.0).unwrap_or_default() {
            if !seen.insert(name.to_string()) {
                errs.push(
                    darling::Error::custom(format!(
                        "`{name}` is named twice in `children(..)`: name each of the child repository's nested fields once"
                    ))
                    .with_span(&name),
                );
                continue;
            }
            if let Some(t) = pending_tables(t.tbl, t.events_tbl, t.parent_column, errs) {
                children.push((name, t));
            }
        }
        let Some(tables) = tables else {
            continue;
        };
        out.push(Pending {
            field,
            repo_ty: f.ty.clone(),
            tables,
            children,
        });
    }
    out
}

/// The nested fields with their defaults: the child's index table is the
/// field's name (`lines`), its events table follows the index table's
/// convention (`line_events`), the parent key is `<parent>_id`; a
/// grandchild's parent key is the child's index table in the singular
/// (`notes.line_id`).
pub(crate) fn resolve(pending: Vec<Pending>, parent_entity: &str) -> Vec<NestedChild> {
    pending
        .into_iter()
        .map(|p| {
            let tables = node_tables(&p.field, p.tables, || {
                super::naming::snake_case(parent_entity)
            });
            let children = p
                .children
                .into_iter()
                .map(|(field, t)| Grandchild {
                    tables: node_tables(&field, t, || super::naming::singular(&tables.index)),
                    field,
                })
                .collect();
            NestedChild {
                field: p.field,
                repo_ty: p.repo_ty,
                tables,
                children,
            }
        })
        .collect()
}

fn node_tables(
    field: &syn::Ident,
    t: PendingTables,
    parent_singular: impl FnOnce() -> String,
) -> NodeTables {
    let index = t.index.unwrap_or_else(|| field.to_string());
    let events = t
        .events
        .unwrap_or_else(|| tables::events_of_index("", &index));
    let parent_column = t
        .parent_column
        .unwrap_or_else(|| format!("{}_id", parent_singular()));
    NodeTables {
        index,
        events,
        parent_column,
    }
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

/// One node of a parent's tree read besides the parent itself: a child
/// (`n0`, the first nested field) or a grandchild (`n0_1`, the second
/// nested field of the first child).
pub(crate) struct Slot<'a> {
    /// The prefix of its columns (`n0_id`, `n0_ev`) and its CTE.
    pub name: String,
    /// The `node` value of its rows.
    pub node: i32,
    /// Its child field's position among the parent's nested fields.
    pub child: usize,
    /// Its position among that child's nested fields, for a grandchild.
    pub grandchild: Option<usize>,
    pub tables: &'a NodeTables,
}

/// The tree read's nodes in column order: the children, then the
/// grandchildren by child.
pub(crate) fn slots(nested: &[NestedChild]) -> Vec<Slot<'_>> {
    let children = nested
        .iter()
        .enumerate()
        .map(|(k, c)| (format!("n{k}"), k, None, &c.tables));
    let grandchildren = nested.iter().enumerate().flat_map(|(k, c)| {
        c.children
            .iter()
            .enumerate()
            .map(move |(j, g)| (format!("n{k}_{j}"), k, Some(j), &g.tables))
    });
    children
        .chain(grandchildren)
        .enumerate()
        .map(|(i, (name, child, grandchild, tables))| Slot {
            name,
            node: i as i32 + 1,
            child,
            grandchild,
            tables,
        })
        .collect()
}
