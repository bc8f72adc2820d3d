use darling::FromDeriveInput;
use darling::ast::Data;
use darling::error::Accumulator;
use quote::format_ident;

use super::bind::Check;
use super::column::{self, Column};
use super::listing::{self, Filter, IndexColumn, Lookup, Sort};
use super::tables::{self, Tables};
use crate::attrs::id::{IdOpts, IdSourceValue};
use crate::attrs::parsed::Parsed;
use crate::attrs::quoted::Quoted;
use crate::attrs::repo::{REPO_KEYS, RepoOpts};

/// A validated `EsRepo` derive: everything the generators need, resolved.
pub(crate) struct Repo {
    pub ident: syn::Ident,
    pub vis: syn::Visibility,
    pub generics: syn::Generics,
    pub pool: syn::Ident,
    pub entity: syn::Type,
    pub id_ty: syn::Type,
    /// Who makes a new entity's id: `id(source = "caller" | "repo")`.
    pub id_source: IdSource,
    /// Who checks that `id_ty` fits the `id` column.
    pub id_check: Check,
    pub event_ty: syn::Type,
    pub tables: Tables,
    pub columns: Vec<Column>,
    /// Listing orders: `id`, `created_at`, then the `list_by` columns.
    pub sorts: Vec<Sort>,
    /// `list_for` columns.
    pub filters: Vec<Filter>,
    /// `find_by_id`, then a `find_by_<col>` per column with `find_by`.
    pub lookups: Vec<Lookup>,
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
    /// `snapshot`: the snapshot table the reads and `update`s use.
    pub snapshot: Option<super::snapshot::SnapshotModel>,
    /// `#[es_repo(nested)]` fields: the repositories of nested children.
    pub nested: Vec<super::nested::NestedChild>,
    /// The `parent` column of a nested child's repository.
    pub parent_column: Option<syn::Ident>,
    pub names: Names,
}

/// Who makes the id of an entity `create` stores.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum IdSource {
    /// The `New` value carries it (`IntoEvents`); the default.
    Caller,
    /// The repository assigns a `GenerateId::generate()` id per entity and
    /// hands it to the `New` value (`IntoEventsWithId`).
    Repo,
}

/// Generated type names.
pub(crate) struct Names {
    pub entity: String,
    pub column_enum: syn::Ident,
    /// The variants of `column_enum`: `id`, `created_at`, then the columns.
    pub columns: Vec<IndexColumn>,
    pub create_error: syn::Ident,
    pub modify_error: syn::Ident,
    pub unchecked_modify_error: syn::Ident,
    pub find_error: syn::Ident,
    pub query_error: syn::Ident,
    pub cursor_enum: syn::Ident,
    pub sort_by_enum: syn::Ident,
    pub filters_struct: syn::Ident,
}

/// Parses `#[es_repo(...)]` and builds the model. darling's parse errors
/// and the model's own are reported together, in one compile.
pub(crate) fn from_input(input: &syn::DeriveInput) -> darling::Result<Repo> {
    let opts = RepoOpts::from_derive_input(input)?;
    let mut errs = darling::Error::accumulator();
    let repo = build(opts, &mut errs);
    errs.finish()?;
    Ok(repo.expect("every failed step reports an error"))
}

/// An option's value checked by `check`: `Some(None)` when the option is
/// absent, `None` when it did not parse or `check` rejected it (the error is
/// pushed either way).
fn option<T, U>(
    value: Option<Parsed<T>>,
    errs: &mut Accumulator,
    check: impl FnOnce(T, &mut Accumulator) -> Option<U>,
) -> Option<Option<U>> {
    match value {
        None => Some(None),
        Some(Parsed(result)) => {
            let value = errs.handle(result)?;
            check(value, errs).map(Some)
        }
    }
}

fn build(opts: RepoOpts, errs: &mut Accumulator) -> Option<Repo> {
    for e in opts.unknown.errors(REPO_KEYS) {
        errs.push(e);
    }
    let entity = option(opts.entity, errs, |Quoted(lit), errs| {
        errs.handle(super::parse_type(&lit).and_then(|ty| {
            last_ident(&ty).map(|name| (ty, name)).ok_or_else(|| {
                darling::Error::custom("`entity` must name a type such as \"User\"").with_span(&lit)
            })
        }))
    });
    if let Some(None) = entity {
        errs.push(
            darling::Error::custom("missing `entity`: add `#[es_repo(entity = \"YourEntity\")]`")
                .with_span(&opts.ident),
        );
    }

    let mut data = opts.data;
    let nested = super::nested::pending(&mut data, errs);
    let pool = pool_field(data, &opts.ident, errs);

    // A column that did not parse is missing below: `list_for(by(..))` may
    // name it, so that check waits until every column parses.
    let columns_parsed = opts.columns.errors.is_empty();
    for e in opts.columns.errors {
        errs.push(e);
    }
    let mut columns = Vec::new();
    for col in &opts.columns.columns {
        if let Some(c) = column::build(col, errs) {
            columns.push(c);
        }
    }
    super::check::columns(&columns, errs);

    let parse_type = |Quoted(lit), errs: &mut Accumulator| errs.handle(super::parse_type(&lit));
    let id = option(opts.id, errs, |IdOpts { ty, source }, errs| {
        // Both values are checked, so both errors are reported at once.
        let ty = ty.map(|lit| errs.handle(super::parse_type(&lit)));
        let source = source.map(|v| id_source(&v, errs));
        let ty = match ty {
            Some(t) => Some(t?),
            None => None,
        };
        let source = match source {
            Some(s) => s?,
            None => IdSource::Caller,
        };
        Some((ty, source))
    });
    let event = option(opts.event, errs, parse_type);

    // Every name is checked, so all bad names are reported in one compile.
    let table = |Quoted(lit), errs: &mut Accumulator| errs.handle(tables::checked_name(&lit));
    let prefix = option(opts.tbl_prefix, errs, table);
    let index = option(opts.tbl, errs, table);
    let events = option(opts.events_tbl, errs, table);
    let soft_delete = option(opts.delete, errs, |Quoted(lit), errs| {
        delete_mode(&lit, errs)
    });
    let post_persist_hook = option(opts.post_persist_hook, errs, |m, errs| {
        method_name(&m.0, errs)
    });
    let snapshot_opt = super::snapshot::options(opts.snapshot, opts.snapshot_tbl, errs);
    let feed = errs.handle(opts.feed.0);
    let in_op_only = errs.handle(opts.in_op_only.0);

    let (entity, entity_name) = entity??;
    let (id_ty, id_source) = id?.unwrap_or((None, IdSource::Caller));
    let id_ty = id_ty.unwrap_or_else(|| {
        let ident = format_ident!("{}Id", entity_name);
        syn::parse_quote!(#ident)
    });
    let event_ty = event?.unwrap_or_else(|| {
        let ident = format_ident!("{}Event", entity_name);
        syn::parse_quote!(#ident)
    });
    let id_check = super::bind::check_of(&id_ty);
    let nested = super::nested::resolve(nested, &entity_name);
    let parents: Vec<_> = columns.iter().filter(|c| c.parent).collect();
    for extra in parents.iter().skip(1) {
        errs.push(
            darling::Error::custom(
                "only one column can be `parent`: a nested child has one parent",
            )
            .with_span(&extra.name),
        );
    }
    let parent_column = parents.first().map(|c| c.name.clone());
    if let (Some(first), Some(Some(hook))) = (nested.first(), &post_persist_hook) {
        errs.push(
            darling::Error::custom(format!(
                "`#[es_repo(nested)]` field `{}`: a repository with nested children cannot have a \
                 `post_persist_hook` yet (`{hook}`)",
                first.field
            ))
            .with_span(&first.field),
        );
    }
    let sorts = listing::sorts(&entity_name, &id_ty, &columns);
    if columns_parsed {
        super::check::list_for_orders(&columns, &sorts, errs);
    }
    let filters = listing::filters(&columns, &sorts);
    let lookups = listing::lookups(&id_ty, id_check, &columns);
    let prefix = tables::prefix(prefix?.as_deref());
    let snapshot = super::snapshot::build(snapshot_opt?, &prefix, &entity_name);
    if snapshot.is_some() {
        // The tree read loads every node's full history, and a child's
        // snapshot would not be read with it: not supported yet.
        if let Some(first) = nested.first() {
            errs.push(
                darling::Error::custom(format!(
                    "`#[es_repo(nested)]` field `{}`: a repository with nested children cannot \
                     store snapshots (`snapshot`) yet",
                    first.field
                ))
                .with_span(&first.field),
            );
        }
        if let Some(parent) = &parent_column {
            errs.push(
                darling::Error::custom(format!(
                    "`{parent}` is a `parent` column: a nested child's repository cannot store \
                     snapshots (`snapshot`) yet"
                ))
                .with_span(parent),
            );
        }
    }
    let tables = Tables {
        index: index?.unwrap_or_else(|| tables::default_index(&prefix, &entity_name)),
        events: events?.unwrap_or_else(|| tables::default_events(&prefix, &entity_name)),
    };

    Some(Repo {
        ident: opts.ident,
        vis: opts.vis,
        generics: opts.generics,
        pool: pool?,
        entity,
        id_check,
        id_ty,
        id_source,
        event_ty,
        tables,
        sorts,
        filters,
        lookups,
        soft_delete: soft_delete?.unwrap_or(false),
        feed: feed?.is_present(),
        in_op_only: in_op_only?.is_present(),
        post_persist_hook: post_persist_hook?,
        snapshot,
        nested,
        parent_column,
        names: Names {
            cursor_enum: format_ident!("{}Cursor", entity_name),
            sort_by_enum: format_ident!("{}SortBy", entity_name),
            filters_struct: format_ident!("{}Filters", entity_name),
            column_enum: format_ident!("{}Column", entity_name),
            columns: listing::index_columns(&columns),
            create_error: format_ident!("{}CreateError", entity_name),
            modify_error: format_ident!("{}ModifyError", entity_name),
            unchecked_modify_error: format_ident!("{}UncheckedModifyError", entity_name),
            find_error: format_ident!("{}FindError", entity_name),
            query_error: format_ident!("{}QueryError", entity_name),
            entity: entity_name,
        },
        columns,
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

fn pool_field(
    data: Data<darling::util::Ignored, crate::attrs::repo::RepoField>,
    repo: &syn::Ident,
    errs: &mut Accumulator,
) -> Option<syn::Ident> {
    let Data::Struct(fields) = data else {
        unreachable!("darling `supports(struct_named)` rejects enums")
    };
    let mut marked = Vec::new();
    let mut named_pool = None;
    // A marker that did not parse is reported; "no pool field" would repeat it.
    let mut bad_marker = false;
    for f in fields.fields {
        let Some(pool) = errs.handle(f.pool.0) else {
            bad_marker = true;
            continue;
        };
        if pool.is_present() {
            marked.push((f.ident, pool));
        } else if f.ident.as_ref().is_some_and(|i| i == "pool") {
            named_pool = f.ident;
        }
    }
    for (_, extra) in marked.iter().skip(1) {
        errs.push(
            darling::Error::custom("only one field can be `#[es_repo(pool)]`")
                .with_span(&extra.span()),
        );
    }
    let found = marked
        .into_iter()
        .next()
        .and_then(|(i, _)| i)
        .or(named_pool);
    if found.is_none() && !bad_marker {
        errs.push(
            darling::Error::custom(
                "no pool field: name a `sqlx::PgPool` field `pool` or mark it `#[es_repo(pool)]`",
            )
            .with_span(repo),
        );
    }
    found
}

/// `source = "caller"` or `source = "repo"`; any other value is an error
/// at the value.
fn id_source(value: &IdSourceValue, errs: &mut Accumulator) -> Option<IdSource> {
    match value.value.as_str() {
        "caller" => Some(IdSource::Caller),
        "repo" => Some(IdSource::Repo),
        other => {
            errs.push(
                darling::Error::custom(format!(
                    "unknown id source `{other}`: use `source = \"repo\"` (the repository assigns each new entity's id) or `source = \"caller\"` (the `New` value carries it; the default)"
                ))
                .with_span(&value.span),
            );
            None
        }
    }
}

/// `delete = "soft"`; any other mode is an error.
fn delete_mode(lit: &syn::LitStr, errs: &mut Accumulator) -> Option<bool> {
    if lit.value() == "soft" {
        return Some(true);
    }
    errs.push(
        darling::Error::custom(format!(
            "unknown delete mode `{}`: the only mode is `delete = \"soft\"`",
            lit.value()
        ))
        .with_span(lit),
    );
    None
}

/// The method a string names, spanned at the string.
fn method_name(lit: &syn::LitStr, errs: &mut Accumulator) -> Option<syn::Ident> {
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

#[cfg(test)]
mod tests {
    /// The model of `#[es_repo(entity = "User", <hook>)] struct Users { pool }`.
    fn build(hook: proc_macro2::TokenStream) -> darling::Result<super::Repo> {
        let input: syn::DeriveInput = syn::parse_quote! {
            #[es_repo(entity = "User", #hook)]
            pub struct Users {
                pool: sqlx::PgPool,
            }
        };
        super::from_input(&input)
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
    fn the_id_source_defaults_to_the_caller() {
        use super::IdSource;
        for (opt, source, ty) in [
            (quote::quote!(feed = false), IdSource::Caller, "UserId"),
            (quote::quote!(id = "Uid"), IdSource::Caller, "Uid"),
            (quote::quote!(id(source = "repo")), IdSource::Repo, "UserId"),
            (quote::quote!(id(source = repo)), IdSource::Repo, "UserId"),
            (
                quote::quote!(id(source = "caller")),
                IdSource::Caller,
                "UserId",
            ),
            (
                quote::quote!(id(ty = "Uid", source = "repo")),
                IdSource::Repo,
                "Uid",
            ),
        ] {
            let repo = build(opt.clone()).unwrap_or_else(|e| panic!("{opt}: {e}"));
            assert_eq!(repo.id_source, source, "{opt}");
            let id_ty = &repo.id_ty;
            assert_eq!(quote::quote!(#id_ty).to_string(), ty, "{opt}");
        }
    }

    #[test]
    fn a_bad_id_option_is_one_error_each() {
        for (opt, expected) in [
            (quote::quote!(id(source = "db")), "unknown id source `db`"),
            (quote::quote!(id(source = 1)), "`source` takes `\"repo\"`"),
            (quote::quote!(id(source)), "`source` takes `\"repo\"`"),
            (quote::quote!(id), "`id` takes the id type"),
            (quote::quote!(id = UserId), "`id` takes a string"),
            (quote::quote!(id(ty = UserId)), "`ty` takes a string"),
            (quote::quote!(id(sorce = "repo")), "Unknown field: `sorce`"),
        ] {
            let found = messages(opt.clone());
            assert_eq!(found.len(), 1, "{opt}: {found:?}");
            assert!(found[0].contains(expected), "{opt}: {found:?}");
        }
        // A bad type and a bad source: both, in one compile.
        let found = messages(quote::quote!(id(ty = "not a type", source = "db")));
        assert_eq!(found.len(), 2, "{found:?}");
    }

    #[test]
    fn a_bad_hook_is_reported_with_the_other_errors() {
        let found = messages(quote::quote!(post_persist_hook = "", tbl = "Bad"));
        assert_eq!(found.len(), 2, "{found:?}");
    }

    #[test]
    fn parse_errors_come_with_the_models_errors() {
        // An unknown key, a value of the wrong kind and an unknown column
        // option (darling), a bad table name and an implicit column (model).
        let found = messages(quote::quote!(
            tbl_prefx = "app",
            feed = "yes",
            tbl = "Bad",
            columns(id = "UserId", name(ty = "String", find_bi = false))
        ));
        assert_eq!(found.len(), 5, "{found:?}");
        assert!(
            found
                .iter()
                .any(|m| m.contains("Unknown field: `tbl_prefx`")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|m| m.contains("`Bad` is not a plain table name")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|m| m.contains("`id` is implicit")),
            "{found:?}"
        );
    }
}
