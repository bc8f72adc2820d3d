use darling::ast::Data;
use quote::format_ident;

use super::bind::{Check, check_of};
use super::column::{self, Accessor, Column, ListFor};
use crate::attrs::repo::RepoOpts;
use crate::naming::{plural, snake_case};

/// A validated `EsRepo` derive: everything the generators need, resolved.
pub(crate) struct Repo {
    pub ident: syn::Ident,
    pub vis: syn::Visibility,
    pub generics: syn::Generics,
    pub pool: syn::Ident,
    pub entity: syn::Type,
    pub id_ty: syn::Type,
    /// Who checks that `id_ty` fits the `id` column.
    pub id_check: Check,
    pub event_ty: syn::Type,
    pub tables: Tables,
    pub columns: Vec<Column>,
    /// Listing orders: `id`, `created_at`, then the `list_by` columns.
    pub sorts: Vec<Sort>,
    /// `list_for` columns.
    pub filters: Vec<Filter>,
    /// `delete = "soft"`: the index table has a `deleted` flag.
    pub soft_delete: bool,
    /// `feed`: the events table has `transaction_id` and `position`.
    pub feed: bool,
    /// Only the `_in_op` variants are generated.
    pub in_op_only: bool,
    /// `post_persist_hook = "method"`: the repository's method that every
    /// write runs in its transaction after its statement, spanned at the
    /// attribute's string.
    pub post_persist_hook: Option<syn::Ident>,
    pub names: Names,
}

/// An order entities can be listed in, with its cursor.
pub(crate) struct Sort {
    pub name: syn::Ident,
    pub ty: syn::Type,
    pub check: Check,
    pub nullable: bool,
    pub source: SortSource,
    /// `<Entity>By<Col>Cursor`.
    pub cursor: syn::Ident,
    /// The variant in `<Entity>SortBy` and `<Entity>Cursor`.
    pub variant: syn::Ident,
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

/// Table names.
pub(crate) struct Tables {
    pub index: String,
    pub events: String,
}

/// Generated type names.
pub(crate) struct Names {
    pub entity: String,
    pub column_enum: syn::Ident,
    pub create_error: syn::Ident,
    pub modify_error: syn::Ident,
    pub unchecked_modify_error: syn::Ident,
    pub find_error: syn::Ident,
    pub query_error: syn::Ident,
    pub cursor_enum: syn::Ident,
    pub sort_by_enum: syn::Ident,
    pub filters_struct: syn::Ident,
}

pub(crate) fn build(opts: RepoOpts) -> darling::Result<Repo> {
    let mut errs = darling::Error::accumulator();

    let entity = match &opts.entity {
        Some(lit) => errs.handle(super::parse_type(lit).and_then(|ty| {
            last_ident(&ty).map(|name| (ty, name)).ok_or_else(|| {
                darling::Error::custom("`entity` must name a type such as \"User\"").with_span(lit)
            })
        })),
        None => {
            errs.push(
                darling::Error::custom(
                    "missing `entity`: add `#[es_repo(entity = \"YourEntity\")]`",
                )
                .with_span(&opts.ident),
            );
            None
        }
    };

    let pool = pool_field(&opts, &mut errs);

    let mut columns = Vec::new();
    for col in &opts.columns.0 {
        if let Some(c) = column::build(col, &mut errs) {
            columns.push(c);
        }
    }
    super::check::columns(&columns, &mut errs);

    let id = opts
        .id
        .as_ref()
        .map(|lit| errs.handle(super::parse_type(lit)));
    let event = opts
        .event
        .as_ref()
        .map(|lit| errs.handle(super::parse_type(lit)));

    let tables = entity
        .as_ref()
        .map(|(_, name)| tables(&opts, name, &mut errs));
    let soft_delete = delete_mode(&opts, &mut errs);
    let post_persist_hook = opts
        .post_persist_hook
        .as_ref()
        .and_then(|m| method_name(&m.0, &mut errs));
    let mut errs = errs.checkpoint()?;
    let (entity, entity_name) = entity.expect("reported above");
    let id_ty = match id {
        Some(ty) => ty.expect("reported above"),
        None => {
            let ident = format_ident!("{}Id", entity_name);
            syn::parse_quote!(#ident)
        }
    };
    let event_ty = match event {
        Some(ty) => ty.expect("reported above"),
        None => {
            let ident = format_ident!("{}Event", entity_name);
            syn::parse_quote!(#ident)
        }
    };
    let sorts = sorts(&entity_name, &id_ty, &columns);
    let filters = super::check::filters(&columns, &sorts, &mut errs);
    errs.finish()?;

    Ok(Repo {
        ident: opts.ident,
        vis: opts.vis,
        generics: opts.generics,
        pool: pool.expect("reported above"),
        entity,
        id_check: super::bind::check_of(&id_ty),
        id_ty,
        event_ty,
        tables: tables.expect("entity checked").expect("reported above"),
        columns,
        sorts,
        filters,
        soft_delete,
        feed: opts.feed.is_present(),
        in_op_only: opts.in_op_only.is_present(),
        post_persist_hook,
        names: Names {
            cursor_enum: format_ident!("{}Cursor", entity_name),
            sort_by_enum: format_ident!("{}SortBy", entity_name),
            filters_struct: format_ident!("{}Filters", entity_name),
            column_enum: format_ident!("{}Column", entity_name),
            create_error: format_ident!("{}CreateError", entity_name),
            modify_error: format_ident!("{}ModifyError", entity_name),
            unchecked_modify_error: format_ident!("{}UncheckedModifyError", entity_name),
            find_error: format_ident!("{}FindError", entity_name),
            query_error: format_ident!("{}QueryError", entity_name),
            entity: entity_name,
        },
    })
}

fn last_ident(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => {
            p.path.segments.last().map(|s| s.ident.to_string())
        }
        _ => None,
    }
}

fn pool_field(opts: &RepoOpts, errs: &mut darling::error::Accumulator) -> Option<syn::Ident> {
    let Data::Struct(fields) = &opts.data else {
        unreachable!("darling `supports(struct_named)` rejects enums")
    };
    let marked: Vec<_> = fields.iter().filter(|f| f.pool.is_present()).collect();
    for extra in marked.iter().skip(1) {
        errs.push(
            darling::Error::custom("only one field can be `#[es_repo(pool)]`")
                .with_span(&extra.pool.span()),
        );
    }
    let found = marked.first().and_then(|f| f.ident.clone()).or_else(|| {
        fields
            .iter()
            .filter_map(|f| f.ident.as_ref())
            .find(|i| *i == "pool")
            .cloned()
    });
    if found.is_none() {
        errs.push(
            darling::Error::custom(
                "no pool field: name a `sqlx::PgPool` field `pool` or mark it `#[es_repo(pool)]`",
            )
            .with_span(&opts.ident),
        );
    }
    found
}

fn tables(
    opts: &RepoOpts,
    entity_name: &str,
    errs: &mut darling::error::Accumulator,
) -> Option<Tables> {
    // Every name is checked, so all bad names are reported in one compile.
    let prefix = opts
        .tbl_prefix
        .as_ref()
        .map(|lit| checked_table_name(lit, errs));
    let index = opts.tbl.as_ref().map(|lit| checked_table_name(lit, errs));
    let events = opts
        .events_tbl
        .as_ref()
        .map(|lit| checked_table_name(lit, errs));
    let prefix = match prefix {
        Some(p) => format!("{}_", p?),
        None => String::new(),
    };
    let singular = snake_case(entity_name);
    Some(Tables {
        index: match index {
            Some(name) => name?,
            None => format!("{prefix}{}", plural(&singular)),
        },
        events: match events {
            Some(name) => name?,
            None => format!("{prefix}{singular}_events"),
        },
    })
}

/// Table names go into SQL text verbatim, so only plain identifiers are allowed.
fn checked_table_name(lit: &syn::LitStr, errs: &mut darling::error::Accumulator) -> Option<String> {
    let name = lit.value();
    let ok = !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
    if ok {
        Some(name)
    } else {
        errs.push(
            darling::Error::custom(format!(
                "`{name}` is not a plain table name (lowercase letters, digits, `_`, optional `schema.`)"
            ))
            .with_span(lit),
        );
        None
    }
}

fn delete_mode(opts: &RepoOpts, errs: &mut darling::error::Accumulator) -> bool {
    match &opts.delete {
        None => false,
        Some(lit) if lit.value() == "soft" => true,
        Some(lit) => {
            errs.push(
                darling::Error::custom(format!(
                    "unknown delete mode `{}`: the only mode is `delete = \"soft\"`",
                    lit.value()
                ))
                .with_span(lit),
            );
            false
        }
    }
}

/// The method a string names, spanned at the string.
fn method_name(lit: &syn::LitStr, errs: &mut darling::error::Accumulator) -> Option<syn::Ident> {
    let name = lit.value();
    if name.trim().is_empty() {
        errs.push(
            darling::Error::custom(
                "`post_persist_hook` is empty: name a method of the repository, e.g. \"project\"",
            )
            .with_span(lit),
        );
        return None;
    }
    match lit.parse::<syn::Ident>() {
        Ok(ident) => Some(ident),
        Err(_) => {
            errs.push(
                darling::Error::custom(format!(
                    "`{name}` is not a method name: `post_persist_hook` names a method of the repository, e.g. \"project\""
                ))
                .with_span(lit),
            );
            None
        }
    }
}

fn sorts(entity_name: &str, id_ty: &syn::Type, columns: &[Column]) -> Vec<Sort> {
    let sort = |name: syn::Ident, ty: syn::Type, nullable: bool, source: SortSource| {
        let variant = format_ident!("{}", crate::naming::upper_camel(&name.to_string()));
        Sort {
            cursor: format_ident!("{entity_name}By{variant}Cursor"),
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
            syn::parse_quote!(
                ::es_entity::__private::chrono::DateTime<::es_entity::__private::chrono::Utc>
            ),
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

/// The sorts a filter combines with.
pub(crate) fn filter_sorts(
    list_for: &ListFor,
    sorts: &[Sort],
    errs: &mut darling::error::Accumulator,
) -> Vec<usize> {
    match list_for {
        ListFor::All => (0..sorts.len()).collect(),
        ListFor::By(names) => names
            .iter()
            .filter_map(|n| {
                let found = sorts.iter().position(|s| s.name == *n);
                if found.is_none() {
                    errs.push(
                        darling::Error::custom(format!(
                            "`{n}` is not a listing order: add `list_by` to column `{n}`"
                        ))
                        .with_span(n),
                    );
                }
                found
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use darling::FromDeriveInput;

    use crate::attrs::repo::RepoOpts;

    /// The model of `#[es_repo(entity = "User", <hook>)] struct Users { pool }`.
    fn build(hook: proc_macro2::TokenStream) -> darling::Result<super::Repo> {
        let input: syn::DeriveInput = syn::parse_quote! {
            #[es_repo(entity = "User", #hook)]
            pub struct Users {
                pool: sqlx::PgPool,
            }
        };
        RepoOpts::from_derive_input(&input).and_then(super::build)
    }

    fn messages(hook: proc_macro2::TokenStream) -> Vec<String> {
        match build(hook) {
            Ok(_) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_hook_names_a_method() {
        let repo = build(quote::quote!(post_persist_hook = "project")).unwrap();
        assert_eq!(repo.post_persist_hook.unwrap(), "project");
        let repo = build(quote::quote!(feed = false)).unwrap();
        assert!(repo.post_persist_hook.is_none());
    }

    #[test]
    fn a_hook_that_names_no_method_is_one_error() {
        for (hook, expected) in [
            (quote::quote!(post_persist_hook = ""), "is empty"),
            (quote::quote!(post_persist_hook = "  "), "is empty"),
            (
                quote::quote!(post_persist_hook = "project users"),
                "`project users` is not a method name",
            ),
            (
                quote::quote!(post_persist_hook = "fn"),
                "`fn` is not a method name",
            ),
            (
                quote::quote!(post_persist_hook = project),
                "expected the method's name as a string",
            ),
            (
                quote::quote!(post_persist_hook = 1),
                "expected the method's name as a string",
            ),
            (
                quote::quote!(post_persist_hook),
                "expected the method's name as a string",
            ),
            (quote::quote!(post_persist_hook(project)), "not a list"),
        ] {
            let found = messages(hook.clone());
            assert_eq!(found.len(), 1, "{hook}: {found:?}");
            assert!(found[0].contains(expected), "{hook}: {found:?}");
        }
    }

    #[test]
    fn a_bad_hook_is_reported_with_the_other_errors() {
        let found = messages(quote::quote!(post_persist_hook = "", tbl = "Bad"));
        assert_eq!(found.len(), 2, "{found:?}");
    }
}
