//! Listing orders (`list_by`), filters (`list_for`) and lookups (`find_by`),
//! with every name the generators use for them resolved.

use proc_macro2::Span;
use quote::format_ident;

use super::bind::{Check, check_of};
use super::column::{Accessor, Column, ListFor};
use super::naming::variant_of;

/// An order entities can be listed in, with its cursor.
pub(crate) struct Sort {
    pub name: syn::Ident,
    pub ty: syn::Type,
    pub check: Check,
    pub nullable: bool,
    pub source: SortSource,
    /// `<Entity>By<Col>Cursor`.
    pub cursor: syn::Ident,
    /// The variant in `<Entity>SortBy`.
    pub variant: syn::Ident,
    /// The variant in `<Entity>Cursor`: `By<Col>`.
    pub cursor_variant: syn::Ident,
}

impl Sort {
    /// Listing by `id` alone: its cursor holds only the id.
    pub fn by_id(&self) -> bool {
        matches!(self.source, SortSource::Id)
    }
}

/// Where a cursor reads its value from the entity.
pub(crate) enum SortSource {
    Id,
    CreatedAt,
    Column(Accessor),
}

/// A `list_for` column.
pub(crate) struct Filter {
    pub name: syn::Ident,
    pub ty: syn::Type,
    pub check: Check,
    pub nullable: bool,
    /// Indexes into `Repo::sorts`.
    pub by: Vec<usize>,
}

/// A `find_by_<name>` family: `id`, then every column with `find_by`.
pub(crate) struct Lookup {
    pub name: syn::Ident,
    pub ty: syn::Type,
    pub check: Check,
    pub nullable: bool,
    /// The column's variant in `<Entity>Column`.
    pub variant: syn::Ident,
    /// The lookup by `id`: the primary key, at most one row.
    pub by_id: bool,
    /// A `String` column: the lookup takes `impl AsRef<str>`.
    pub by_str: bool,
}

/// A column of the index table as `<Entity>Column` names it.
pub(crate) struct IndexColumn {
    /// The SQL name.
    pub name: String,
    /// The enum variant, spanned at the declaration (call site for the implicit ones).
    pub variant: syn::Ident,
}

/// The type of `created_at`.
fn created_at_ty() -> syn::Type {
    syn::parse_quote!(::es_entity::__private::chrono::DateTime<::es_entity::__private::chrono::Utc>)
}

/// `id`, `created_at`, then the declared columns.
pub(crate) fn index_columns(columns: &[Column]) -> Vec<IndexColumn> {
    let implicit = ["id", "created_at"].into_iter().map(|name| IndexColumn {
        name: name.to_owned(),
        variant: variant_of(name, Span::call_site()),
    });
    implicit
        .chain(columns.iter().map(|c| IndexColumn {
            name: c.name.to_string(),
            variant: c.variant.clone(),
        }))
        .collect()
}

/// Listing orders: `id`, `created_at`, then the `list_by` columns.
pub(crate) fn sorts(entity_name: &str, id_ty: &syn::Type, columns: &[Column]) -> Vec<Sort> {
    let sort = |name: syn::Ident, ty: syn::Type, nullable: bool, source: SortSource| {
        let variant = variant_of(&name.to_string(), name.span());
        Sort {
            cursor: format_ident!("{entity_name}By{variant}Cursor"),
            cursor_variant: format_ident!("By{}", variant),
            variant,
            name,
            check: check_of(&ty),
            ty,
            nullable,
            source,
        }
    };
    let mut out = vec![
        sort(format_ident!("id"), id_ty.clone(), false, SortSource::Id),
        sort(
            format_ident!("created_at"),
            created_at_ty(),
            false,
            SortSource::CreatedAt,
        ),
    ];
    for c in columns.iter().filter(|c| c.list_by) {
        let read = c.update.clone().unwrap_or(Accessor::Field);
        out.push(sort(
            c.name.clone(),
            c.ty.clone(),
            c.nullable,
            SortSource::Column(read),
        ));
    }
    out
}

/// The sort a `list_for(by(..))` entry names, if any (`check::list_for_orders`
/// reports the others).
pub(crate) fn sort_named(sorts: &[Sort], name: &syn::Ident) -> Option<usize> {
    sorts.iter().position(|s| s.name == *name)
}

/// `list_for` columns, each with the listing orders it combines with.
pub(crate) fn filters(columns: &[Column], sorts: &[Sort]) -> Vec<Filter> {
    columns
        .iter()
        .filter_map(|c| {
            let by = match c.list_for.as_ref()? {
                ListFor::All => (0..sorts.len()).collect(),
                ListFor::By(names) => names.iter().filter_map(|n| sort_named(sorts, n)).collect(),
            };
            Some(Filter {
                name: c.name.clone(),
                ty: c.ty.clone(),
                check: c.check,
                nullable: c.nullable,
                by,
            })
        })
        .collect()
}

/// `find_by_id`, then `find_by_<col>` for every column with `find_by`.
pub(crate) fn lookups(id_ty: &syn::Type, id_check: Check, columns: &[Column]) -> Vec<Lookup> {
    let id = Lookup {
        name: format_ident!("id"),
        ty: id_ty.clone(),
        check: id_check,
        nullable: false,
        variant: variant_of("id", Span::call_site()),
        by_id: true,
        by_str: false,
    };
    std::iter::once(id)
        .chain(columns.iter().filter(|c| c.find_by).map(|c| Lookup {
            name: c.name.clone(),
            ty: c.ty.clone(),
            check: c.check,
            nullable: c.nullable,
            variant: c.variant.clone(),
            by_id: false,
            by_str: super::bind::is_string(&c.ty),
        }))
        .collect()
}
