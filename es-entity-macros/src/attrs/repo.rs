use darling::{FromDeriveInput, FromField, ast::Data};

use super::column::Columns;
use super::id::IdOpts;
use super::method::MethodName;
use super::parsed::{Parsed, UnknownKeys};
use super::quoted::Quoted;
use super::switch::Switch;

/// `#[es_repo(entity = "User", columns(...), ...)]` on the repository struct.
/// Each option keeps its own parse error ([`Parsed`]), and unknown keys are
/// collected, so the model reports them with its own errors.
#[derive(FromDeriveInput)]
#[darling(attributes(es_repo), supports(struct_named))]
pub(crate) struct RepoOpts {
    pub ident: syn::Ident,
    pub vis: syn::Visibility,
    pub generics: syn::Generics,
    pub data: Data<darling::util::Ignored, RepoField>,
    pub entity: Option<Parsed<Quoted>>,
    /// `id = "UserId"` or `id(ty = "UserId", source = "repo")`.
    pub id: Option<Parsed<IdOpts>>,
    pub event: Option<Parsed<Quoted>>,
    pub tbl: Option<Parsed<Quoted>>,
    pub events_tbl: Option<Parsed<Quoted>>,
    pub tbl_prefix: Option<Parsed<Quoted>>,
    /// `delete = "soft"`.
    pub delete: Option<Parsed<Quoted>>,
    #[darling(default)]
    pub columns: Columns,
    /// `feed`: generate `feed_after` over the events table's feed columns.
    pub feed: Parsed<Switch>,
    /// `in_op_only`: generate only the `_in_op` variants (and `begin_op`).
    pub in_op_only: Parsed<Switch>,
    /// `post_persist_hook = "method"`: a method of the repository that every
    /// write runs in its transaction after its statement.
    pub post_persist_hook: Option<Parsed<MethodName>>,
    /// `snapshot`: store one snapshot row per entity (`model::snapshot`).
    pub snapshot: Parsed<Switch>,
    /// `snapshot_tbl = "..."`: the snapshot table's name.
    pub snapshot_tbl: Option<Parsed<Quoted>>,
    #[darling(flatten)]
    pub unknown: UnknownKeys,
}

/// The options of `#[es_repo(...)]`, suggested for an unknown key.
pub(crate) const REPO_KEYS: &[&str] = &[
    "entity",
    "id",
    "event",
    "tbl",
    "events_tbl",
    "tbl_prefix",
    "delete",
    "columns",
    "feed",
    "in_op_only",
    "post_persist_hook",
    "snapshot",
    "snapshot_tbl",
];

#[derive(FromField)]
#[darling(attributes(es_repo))]
pub(crate) struct RepoField {
    pub ident: Option<syn::Ident>,
    pub ty: syn::Type,
    pub pool: Parsed<Switch>,
    /// `nested` or `nested(tbl = "..", events_tbl = "..", parent_column = "..")`:
    /// the field is the repository of the entity's nested children.
    pub nested: Option<Parsed<darling::util::Override<NestedOpts>>>,
}

/// The child tables a parent's tree read names; each defaults from the
/// field (`lines` -> `lines`, `line_events`) and the parent entity
/// (`order_id`), and is checked against the child repository at compile time.
#[derive(Default, darling::FromMeta)]
pub(crate) struct NestedOpts {
    pub tbl: Option<Quoted>,
    pub events_tbl: Option<Quoted>,
    pub parent_column: Option<Quoted>,
    /// `children(notes, tags(tbl = ".."))`: the child repository's own
    /// nested fields, in its order, which the tree read loads too.
    pub children: Option<NestedChildren>,
}

/// The grandchildren a parent's tree read loads: the child repository's
/// `#[es_repo(nested)]` fields by name, each with the options of `nested`.
pub(crate) struct NestedChildren(pub Vec<(syn::Ident, TablesOpts)>);

/// The tables of one grandchild (`notes(tbl = "..", events_tbl = "..", parent_column = "..")`).
#[derive(Default, darling::FromMeta)]
pub(crate) struct TablesOpts {
    pub tbl: Option<Quoted>,
    pub events_tbl: Option<Quoted>,
    pub parent_column: Option<Quoted>,
}

impl darling::FromMeta for NestedChildren {
    fn from_list(items: &[darling::ast::NestedMeta]) -> darling::Result<Self> {
        use darling::ast::NestedMeta;
        let mut errs = darling::Error::accumulator();
        let mut out = Vec::new();
        for item in items {
            let NestedMeta::Meta(meta) = item else {
                errs.push(
                    darling::Error::custom(
                        "expected the name of the child repository's nested field: `children(notes)`",
                    )
                    .with_span(item),
                );
                continue;
            };
            let Some(name) = meta.path().get_ident().cloned() else {
                errs.push(
                    darling::Error::custom("a nested field's name is a single identifier")
                        .with_span(meta.path()),
                );
                continue;
            };
            let opts = match meta {
                syn::Meta::Path(_) => Ok(TablesOpts::default()),
                syn::Meta::List(_) => TablesOpts::from_meta(meta),
                syn::Meta::NameValue(_) => Err(darling::Error::custom(format!(
                    "write `{name}` or `{name}(tbl = \"..\", events_tbl = \"..\", parent_column = \"..\")`"
                ))
                .with_span(meta)),
            };
            if let Some(opts) = errs.handle(opts.map_err(|e| e.at(name.to_string()))) {
                out.push((name, opts));
            }
        }
        errs.finish_with(NestedChildren(out))
    }
}
