use darling::{
    FromMeta,
    ast::NestedMeta,
    util::{Override, PathList, SpannedValue},
};
use syn::spanned::Spanned;

use super::switch::Switch;

/// `columns(name = "String", email(ty = "Option<String>", find_by = false))`.
/// A column that does not parse is left out and its error kept in `errors`,
/// so the model reports it with its own errors.
#[derive(Default)]
pub(crate) struct Columns {
    pub columns: Vec<ColumnOpts>,
    pub errors: Vec<darling::Error>,
}

/// One column: the shorthand `name = "Type"` or the long form `name(...)`.
pub(crate) struct ColumnOpts {
    pub name: syn::Ident,
    pub body: ColumnBody,
}

#[derive(Default, FromMeta)]
pub(crate) struct ColumnBody {
    pub ty: Option<syn::LitStr>,
    pub find_by: Option<SpannedValue<bool>>,
    pub create: Option<WriteOpts>,
    pub update: Option<WriteOpts>,
    /// `list_by`: generate `list_by_<col>` with a cursor on this column.
    pub list_by: Switch,
    /// `list_for` (by every listing order) or `list_for(by(a, b))`.
    pub list_for: Option<Override<ListForOpts>>,
    /// `unique`: the column holds a key (`create_or_find` looks it up).
    pub unique: Switch,
    /// `parent`: the column holds the id of the parent entity of a nested child.
    pub parent: Switch,
}

/// `list_for(by(created_at, name))`.
#[derive(FromMeta)]
pub(crate) struct ListForOpts {
    pub by: PathList,
}

/// `create(accessor = "expr", persist = false)` / `update(...)`.
#[derive(Default, FromMeta)]
pub(crate) struct WriteOpts {
    pub accessor: Option<syn::LitStr>,
    pub persist: Option<SpannedValue<bool>>,
}

impl FromMeta for Columns {
    fn from_list(items: &[NestedMeta]) -> darling::Result<Self> {
        let mut out = Columns::default();
        for item in items {
            match column(item) {
                Ok(col) => out.columns.push(col),
                Err(e) => out.errors.push(e.at("columns")),
            }
        }
        Ok(out)
    }
}

fn column(item: &NestedMeta) -> darling::Result<ColumnOpts> {
    let NestedMeta::Meta(meta) = item else {
        return Err(darling::Error::custom(
            "expected a column: `name = \"Type\"` or `name(ty = \"Type\", ...)`",
        )
        .with_span(item));
    };
    let Some(name) = meta.path().get_ident().cloned() else {
        return Err(
            darling::Error::custom("a column name is a single identifier")
                .with_span(&meta.path().span()),
        );
    };
    let body = match meta {
        syn::Meta::NameValue(nv) => ColumnBody {
            ty: Some(syn::LitStr::from_expr(&nv.value).map_err(|e| e.with_span(&nv.value))?),
            ..ColumnBody::default()
        },
        syn::Meta::List(_) => ColumnBody::from_meta(meta).map_err(|e| e.at(name.to_string()))?,
        syn::Meta::Path(_) => {
            return Err(darling::Error::custom(format!(
                "column `{name}` needs a type: `{name} = \"Type\"`"
            ))
            .with_span(&name));
        }
    };
    Ok(ColumnOpts { name, body })
}
