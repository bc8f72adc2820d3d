use proc_macro2::TokenStream;

use super::bind::{self, Check};
use crate::attrs::column::{ColumnOpts, WriteOpts};

/// A user-declared index-table column.
pub(crate) struct Column {
    /// Column name, also the field/accessor default and the `find_by_<name>` suffix.
    pub name: syn::Ident,
    /// The column's variant in `<Entity>Column`, spanned at `name`.
    pub variant: syn::Ident,
    pub ty: syn::Type,
    /// Who checks that `ty` fits the SQL column.
    pub check: Check,
    /// `Option<T>`: nullable; a `None` filter matches the NULL rows (`sql::equals`).
    pub nullable: bool,
    pub find_by: bool,
    /// How `create` reads the value from the `New` type; `None`: not written.
    pub create: Option<Accessor>,
    /// How `update` reads the value from the entity; `None`: not written.
    pub update: Option<Accessor>,
    /// `list_by`: entities can be listed ordered by this column.
    pub list_by: bool,
    /// `list_for`: entities can be listed filtered by this column.
    pub list_for: Option<ListFor>,
    /// `unique`: a key `create_or_find` looks up by.
    pub unique: bool,
    /// `parent`: the parent's id, in a nested child's repository.
    pub parent: bool,
}

/// The listing orders a `list_for` filter combines with.
pub(crate) enum ListFor {
    /// Bare `list_for`: every `list_by` order.
    All,
    /// `list_for(by(a, b))`.
    By(Vec<syn::Ident>),
}

/// Where a column's value comes from.
#[derive(Clone)]
pub(crate) enum Accessor {
    /// The field of the same name.
    Field,
    /// An expression applied to the value, e.g. `name()` or `profile.email`.
    Expr(TokenStream),
}

impl Accessor {
    /// Tokens reading the value from `var`.
    pub fn read(&self, var: &syn::Ident, column: &syn::Ident) -> TokenStream {
        match self {
            Accessor::Field => quote::quote!(#var.#column),
            Accessor::Expr(expr) => quote::quote!(#var.#expr),
        }
    }
}

pub(crate) fn build(opts: &ColumnOpts, errs: &mut darling::error::Accumulator) -> Option<Column> {
    let name = &opts.name;
    let ty = match &opts.body.ty {
        Some(lit) => errs.handle(super::parse_type(lit)),
        None => {
            errs.push(
                darling::Error::custom(format!(
                    "column `{name}` needs a type: `{name}(ty = \"Type\", ...)`"
                ))
                .with_span(name),
            );
            None
        }
    };
    let create = write_accessor(opts.body.create.as_ref(), errs);
    let update = write_accessor(opts.body.update.as_ref(), errs);
    let list_for = match &opts.body.list_for {
        None => Some(None),
        Some(darling::util::Override::Inherit) => Some(Some(ListFor::All)),
        Some(darling::util::Override::Explicit(l)) => {
            let mut by = Vec::new();
            for path in l.by.iter() {
                match path.get_ident() {
                    Some(ident) => by.push(ident.clone()),
                    None => {
                        errs.push(darling::Error::custom("expected a column name").with_span(path))
                    }
                }
            }
            Some(Some(ListFor::By(by)))
        }
    };
    let ty = ty?;
    if bind::is_array(&ty) {
        errs.push(
            darling::Error::custom(format!(
                "column `{name}`: array columns are not supported (bulk writes send each \
                 column as one array, and PostgreSQL has no arrays of arrays); \
                 store the list in the entity's events"
            ))
            .with_span(opts.body.ty.as_ref().expect("parsed above")),
        );
        return None;
    }
    let create = create?;
    let unique = opts.body.unique.is_present();
    if unique && create.is_none() {
        errs.push(
            darling::Error::custom(format!(
                "column `{name}`: `unique` marks a key that `create_or_find` looks up with \
                 the new entity's value, but `create(persist = false)` writes no value"
            ))
            .with_span(&opts.body.unique.span()),
        );
        return None;
    }
    let parent = opts.body.parent.is_present();
    if parent && create.is_none() {
        errs.push(
            darling::Error::custom(format!(
                "column `{name}`: a `parent` column is written by `create` (the parent's \
                 tree read finds its children by it), but `create(persist = false)` writes no value"
            ))
            .with_span(&opts.body.parent.span()),
        );
        return None;
    }
    Some(Column {
        parent,
        unique,
        name: name.clone(),
        variant: super::naming::variant_of(&name.to_string(), name.span()),
        nullable: is_option(&ty),
        check: bind::check_of(&ty),
        ty,
        find_by: opts.body.find_by.as_ref().is_none_or(|b| **b),
        create,
        update: update?,
        list_by: opts.body.list_by.is_present(),
        list_for: list_for?,
    })
}

/// `None` when invalid; `Some(None)` when the column is not persisted.
fn write_accessor(
    opts: Option<&WriteOpts>,
    errs: &mut darling::error::Accumulator,
) -> Option<Option<Accessor>> {
    let Some(opts) = opts else {
        return Some(Some(Accessor::Field));
    };
    let persist = opts.persist.as_ref().is_none_or(|p| **p);
    match (&opts.accessor, persist) {
        (Some(acc), false) => {
            errs.push(
                darling::Error::custom("`accessor` has no effect with `persist = false`")
                    .with_span(acc),
            );
            None
        }
        (Some(acc), true) => match acc.parse::<TokenStream>() {
            Ok(ts) if !ts.is_empty() => Some(Some(Accessor::Expr(respan(ts, acc.span())))),
            _ => {
                errs.push(
                    darling::Error::custom("`accessor` must be an expression such as `name()`")
                        .with_span(acc),
                );
                None
            }
        },
        (None, true) => Some(Some(Accessor::Field)),
        (None, false) => Some(None),
    }
}

fn respan(ts: TokenStream, span: proc_macro2::Span) -> TokenStream {
    ts.into_iter()
        .map(|mut tt| {
            if let proc_macro2::TokenTree::Group(g) = &tt {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tt = proc_macro2::TokenTree::Group(group);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

fn is_option(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Option" && !s.arguments.is_empty()),
        _ => false,
    }
}
