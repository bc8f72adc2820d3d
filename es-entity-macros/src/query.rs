//! `es_query!("SELECT id FROM users WHERE ...", args...)`: parse, resolve the
//! events table, expand to a checked `sqlx::query_as!` wrapped in `EsQuery`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;

use crate::model::tables;
use crate::sql;

/// Parsed input: `[snapshot,] [tbl_prefix = "..",] [events_tbl = "..",]
/// [snapshot_tbl = "..",] "SQL" [, args]*`. `snapshot` (implied by
/// `snapshot_tbl`) reads a repository with `#[es_repo(snapshot)]`.
pub(crate) struct QueryInput {
    snapshot: Option<syn::Ident>,
    tbl_prefix: Option<syn::LitStr>,
    events_tbl: Option<syn::LitStr>,
    snapshot_tbl: Option<syn::LitStr>,
    sql: syn::LitStr,
    args: Vec<syn::Expr>,
}

impl Parse for QueryInput {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut snapshot = None;
        let mut tbl_prefix = None;
        let mut events_tbl = None;
        let mut snapshot_tbl = None;
        if input.peek(syn::Ident) && input.peek2(syn::Token![,]) {
            let key: syn::Ident = input.parse()?;
            if key != "snapshot" {
                return Err(syn::Error::new(
                    key.span(),
                    format!("unknown option `{key}`: expected `snapshot`, or the SQL string"),
                ));
            }
            input.parse::<syn::Token![,]>()?;
            snapshot = Some(key);
        }
        while input.peek(syn::Ident) && input.peek2(syn::Token![=]) {
            let key: syn::Ident = input.parse()?;
            input.parse::<syn::Token![=]>()?;
            let value: syn::LitStr = input.parse()?;
            input.parse::<syn::Token![,]>()?;
            let slot = match key.to_string().as_str() {
                "tbl_prefix" => &mut tbl_prefix,
                "events_tbl" => &mut events_tbl,
                "snapshot_tbl" => &mut snapshot_tbl,
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown option `{other}`: expected `tbl_prefix`, `events_tbl` or `snapshot_tbl`"
                        ),
                    ));
                }
            };
            if slot.replace(value).is_some() {
                return Err(syn::Error::new(
                    key.span(),
                    format!("`{key}` is given twice"),
                ));
            }
        }
        let sql: syn::LitStr = input.parse()?;
        let mut args = Vec::new();
        if input.parse::<Option<syn::Token![,]>>()?.is_some() {
            args = Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated(input)?
                .into_iter()
                .collect();
        }
        Ok(Self {
            snapshot,
            tbl_prefix,
            events_tbl,
            snapshot_tbl,
            sql,
            args,
        })
    }
}

pub(crate) fn expand(input: QueryInput) -> syn::Result<TokenStream> {
    let events_tbl = events_table(&input)?;
    let snapshot_tbl = snapshot_table(&input)?;
    let sql = sql::es_query(
        &events_tbl,
        snapshot_tbl.as_deref(),
        input.args.len(),
        &input.sql.value(),
    );
    let sql = syn::LitStr::new(&sql, input.sql.span());
    let args = input.args.iter().map(arg);
    // The row type says which form this is; `ReadsRow` checks it fits the
    // repository (`Self`).
    let (row, version) = match snapshot_tbl {
        None => (quote!(::es_entity::GenericEvent), quote!()),
        Some(_) => (
            quote!(::es_entity::__private::SnapshotRow),
            quote!(, ::es_entity::__private::snapshot::version::<<Self as ::es_entity::EsRepo>::Entity>()),
        ),
    };
    Ok(quote! {
        ::es_entity::__private::es_query::<Self, _, _, _>(
            ::sqlx::query_as!(#row, #sql #(, #args)* #version)
        )
    })
}

/// With `snapshot` or `snapshot_tbl`: the snapshot table, given or
/// `<prefix><singular>_snapshots` after the index table after `FROM`.
fn snapshot_table(input: &QueryInput) -> syn::Result<Option<String>> {
    if let Some(lit) = &input.snapshot_tbl {
        return Ok(Some(tables::checked_name(lit)?));
    }
    if input.snapshot.is_none() {
        return Ok(None);
    }
    let (prefix, bare) = index_table(input)?;
    Ok(Some(tables::snapshots_of_index(&prefix, &bare)))
}

/// `events_tbl`, or the events table the repository derive gives the
/// index table after `FROM` (`<prefix_><singular>_events`). Names written in
/// the macro are checked as the derive checks `tbl_prefix` / `events_tbl`.
fn events_table(input: &QueryInput) -> syn::Result<String> {
    let mut errs = darling::Error::accumulator();
    // Checked here so both bad names are reported at once.
    let _prefix = input
        .tbl_prefix
        .as_ref()
        .map(|lit| errs.handle(tables::checked_name(lit)));
    let events = input
        .events_tbl
        .as_ref()
        .map(|lit| errs.handle(tables::checked_name(lit)));
    errs.finish()?;
    if let Some(events) = events {
        return Ok(events.expect("checked above"));
    }
    let (prefix, bare) = index_table(input)?;
    Ok(tables::events_of_index(&prefix, &bare))
}

/// The prefix, and the index table after `FROM` without it.
fn index_table(input: &QueryInput) -> syn::Result<(String, String)> {
    let prefix = match &input.tbl_prefix {
        Some(lit) => Some(tables::checked_name(lit)?),
        None => None,
    };
    let sql = input.sql.value().to_lowercase();
    let words: Vec<&str> = sql.split_whitespace().collect();
    let table = words
        .iter()
        .position(|w| *w == "from")
        .and_then(|i| words.get(i + 1))
        .map(|w| w.trim_end_matches(|c: char| !(c.is_alphanumeric() || c == '_')))
        .filter(|w| !w.is_empty())
        .ok_or_else(|| {
            syn::Error::new(
                input.sql.span(),
                "cannot find the index table: expected `SELECT id FROM <table> ...`",
            )
        })?;
    let prefix = tables::prefix(prefix.as_deref());
    let Some(bare) = table.strip_prefix(&prefix) else {
        return Err(syn::Error::new(
            input.sql.span(),
            format!("table `{table}` does not start with the prefix `{prefix}`"),
        ));
    };
    Ok((prefix.clone(), bare.to_owned()))
}

/// An argument as sqlx gets it. A variable or a field, borrowed or not
/// (`member`, `&member`, `filter.member_id`), goes through
/// `es_entity::__private::query_arg`: an entity id (or a reference to one) becomes the
/// `Uuid` inside it, any other type stays the very place it was. Only these
/// forms: their type is known before sqlx's check (while `None`, literals,
/// `.into()` get theirs from the parameter), and reading them twice has no
/// effect. Casts (`x as T`) are sqlx's type overrides and pass untouched.
fn arg(expr: &syn::Expr) -> TokenStream {
    let mut refs = Vec::new();
    let mut place = expr;
    loop {
        match place {
            // A `&mut` argument is left to sqlx as it is.
            syn::Expr::Reference(r) if r.mutability.is_none() => {
                refs.push(quote!(&));
                place = &r.expr;
            }
            syn::Expr::Paren(p) => place = &p.expr,
            syn::Expr::Group(g) => place = &g.expr,
            _ => break,
        }
    }
    if !is_place(place) {
        return quote!(#expr);
    }
    let m = quote!(::es_entity::__private::query_arg);
    quote_spanned! {expr.span()=>
        #(#refs)* *{
            #[allow(unused_imports)]
            use #m::{ViaId as _, ViaIdRef as _, ViaPlain as _};
            (&#m::Probe::of(&#place)).es_query_kind().convert(&#place)
        }
    }
}

/// `x`, `a.b.c` or `self.x`.
fn is_place(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::Path(p) => {
            p.qself.is_none()
                && p.path.leading_colon.is_none()
                && p.path.segments.len() == 1
                && p.path.segments[0].arguments.is_none()
                && p.path.segments[0].ident != "None"
        }
        syn::Expr::Field(f) => is_place(&f.base),
        _ => false,
    }
}
