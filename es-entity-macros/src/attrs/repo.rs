use darling::{FromDeriveInput, FromField, ast::Data};

use super::method::MethodName;
use super::switch::Switch;

use super::column::Columns;

/// `#[es_repo(entity = "User", columns(...), ...)]` on the repository struct.
#[derive(FromDeriveInput)]
#[darling(attributes(es_repo), supports(struct_named))]
pub(crate) struct RepoOpts {
    pub ident: syn::Ident,
    pub vis: syn::Visibility,
    pub generics: syn::Generics,
    pub data: Data<darling::util::Ignored, RepoField>,
    pub entity: Option<syn::LitStr>,
    pub id: Option<syn::LitStr>,
    pub event: Option<syn::LitStr>,
    pub tbl: Option<syn::LitStr>,
    pub events_tbl: Option<syn::LitStr>,
    pub tbl_prefix: Option<syn::LitStr>,
    /// `delete = "soft"`.
    pub delete: Option<syn::LitStr>,
    #[darling(default)]
    pub columns: Columns,
    /// `feed`: generate `feed_after` over the events table's feed columns.
    pub feed: Switch,
    /// `in_op_only`: generate only the `_in_op` variants (and `begin_op`).
    pub in_op_only: Switch,
    /// `post_persist_hook = "method"`: a method of the repository that every
    /// write runs in its transaction after its statement.
    pub post_persist_hook: Option<MethodName>,
}

#[derive(FromField)]
#[darling(attributes(es_repo))]
pub(crate) struct RepoField {
    pub ident: Option<syn::Ident>,
    pub pool: Switch,
}
