//! `es_query!("SELECT id FROM users WHERE ...", args...)`: parse, resolve the
//! events table, expand to a checked `sqlx::query_as!` wrapped in `EsQuery`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;

use crate::model::tables;
use crate::sql;

/// Parsed input: `[tbl_prefix = "..",] [events_tbl = "..",] "SQL" [, args]*`.
pub(crate) struct QueryInput {
    tbl_prefix: Option<syn::LitStr>,
    events_tbl: Option<syn::LitStr>,
    sql: syn::LitStr,
    args: Vec<syn::Expr>,
}

impl Parse for QueryInput {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut tbl_prefix = None;
        let mut events_tbl = None;
        while input.peek(syn::Ident) && input.peek2(syn::Token![=]) {
            let key: syn::Ident = input.parse()?;
            input.parse::<syn::Token![=]>()?;
            let value: syn::LitStr = input.parse()?;
            input.parse::<syn::Token![,]>()?;
            let slot = match key.to_string().as_str() {
                "tbl_prefix" => &mut tbl_prefix,
                "events_tbl" => &mut events_tbl,
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("unknown option `{other}`: expected `tbl_prefix` or `events_tbl`"),
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
            tbl_prefix,
            events_tbl,
            sql,
            args,
        })
    }
}

pub(crate) fn expand(input: QueryInput) -> syn::Result<TokenStream> {
    let events_tbl = events_table(&input)?;
    let sql = sql::es_query(&events_tbl, &input.sql.value());
    let sql = syn::LitStr::new(&sql, input.sql.span());
    let args = input.args.iter().map(arg);
    Ok(quote! {
        ::es_entity::__private::es_query::<Self, _, _>(
            ::sqlx::query_as!(::es_entity::GenericEvent, #sql #(, #args)*)
        )
    })
}

/// `events_tbl`, or the events table the repository derive gives the
/// index table after `FROM` (`<prefix_><singular>_events`). Names written in
/// the macro are checked as the derive checks `tbl_prefix` / `events_tbl`.
fn events_table(input: &QueryInput) -> syn::Result<String> {
    let mut errs = darling::Error::accumulator();
    let prefix = input
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
    let prefix = tables::prefix(prefix.flatten().as_deref());
    let Some(bare) = table.strip_prefix(&prefix) else {
        return Err(syn::Error::new(
            input.sql.span(),
            format!("table `{table}` does not start with the prefix `{prefix}`"),
        ));
    };
    Ok(tables::events_of_index(&prefix, bare))
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
