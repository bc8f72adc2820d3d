//! `schema()`: the tables, columns, keys and indexes the repository's
//! statements need, as an `es_entity::schema::RepoSchema` (printed as DDL
//! with `to_sql()`, checked against a database with
//! `es_entity::schema::check`).
//!
//! Names come from the model (the ones the generated SQL uses); column
//! types from sqlx's type information for the declared Rust types, at run
//! time (`es_entity::schema::Column::of::<T>`).
//!
//! A feature that needs a table of its own (snapshots, a nested entity's
//! parent key) adds it here with another `.with_table(...)` after the
//! events table, and its columns and indexes to the tables it extends.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::model::listing::{Filter, SortSource};
use crate::model::repo::Repo;

/// The sequence the feed columns' `position` default draws from, shared by
/// every events table in the feed (book: Database tables, the feed columns).
const FEED_SEQUENCE: &str = "es_feed_position";

pub(super) fn expand(repo: &Repo) -> TokenStream {
    let Repo {
        ident, generics, ..
    } = repo;
    let (impl_g, ty_g, where_g) = generics.split_for_impl();
    let entity = &repo.names.entity;
    let index = index_table(repo);
    let events = events_table(repo);
    let snapshots = repo.snapshot_tbl().map(|tbl| {
        let table = snapshot_table(repo, tbl);
        quote!(.with_table(#table))
    });
    let sequence = if repo.feed {
        quote!(.with_sequence(#FEED_SEQUENCE))
    } else {
        TokenStream::new()
    };
    let doc = format!(
        "The schema this repository needs: the `{}` and `{}` tables with their keys \
         and the indexes its listings walk, and the library's function its unchecked \
         writes call. `to_sql()` prints it as DDL; \
         `es_entity::schema::check` compares a database with it.",
        repo.tables.index, repo.tables.events
    );
    quote! {
        #[automatically_derived]
        impl #impl_g #ident #ty_g #where_g {
            #[doc = #doc]
            pub fn schema() -> ::es_entity::schema::RepoSchema {
                ::es_entity::schema::RepoSchema::new(#entity)
                    #sequence
                    .with_table(#index)
                    .with_table(#events)
                    #snapshots
                    // `update_unchecked` reads the stream with it.
                    .with_function(::es_entity::schema::Function::stream_tail())
            }
        }
    }
}

fn column(name: &str, ty: &TokenStream, need: TokenStream) -> TokenStream {
    quote!(::es_entity::schema::Column::of::<#ty>(#name, ::es_entity::schema::Need::#need))
}

fn time_ty() -> TokenStream {
    quote!(::es_entity::__private::chrono::DateTime<::es_entity::__private::chrono::Utc>)
}

fn index(leading: &[String], columns: &[String], purpose: &str) -> TokenStream {
    quote! {
        .index(::es_entity::schema::Index {
            leading: ::std::vec![#(::std::string::String::from(#leading)),*],
            columns: ::std::vec![#(::std::string::String::from(#columns)),*],
            purpose: ::std::string::String::from(#purpose),
        })
    }
}

fn index_table(repo: &Repo) -> TokenStream {
    let table = &repo.tables.index;
    let id_ty = &repo.id_ty;
    let id = column("id", &quote!(#id_ty), quote!(NotNull));
    let created_at = column("created_at", &time_ty(), quote!(NotNull));
    let columns = repo.columns.iter().map(|c| {
        let name = c.name.to_string();
        let ty = &c.ty;
        let need = if c.nullable {
            quote!(Nullable)
        } else if c.create.is_none() {
            quote!(NullOrDefault)
        } else {
            quote!(NotNull)
        };
        // At the declared type's span: a type sqlx cannot name is reported there.
        let span = ty.span();
        let col = quote_spanned!(span=> ::es_entity::schema::Column::of::<#ty>(#name, ::es_entity::schema::Need::#need));
        if c.unique {
            quote!(.column(#col.unique()))
        } else {
            quote!(.column(#col))
        }
    });
    let deleted = if repo.soft_delete {
        let col = column("deleted", &quote!(bool), quote!(NotNull));
        quote!(.column(#col.default("FALSE")))
    } else {
        TokenStream::new()
    };
    // `list_by_created_at` (every repository has it) orders by
    // `created_at, id`, as `list_by_<column>` orders by `<column>, id`; the
    // primary key serves `list_by_id`.
    let sorts = repo.sorts.iter().filter_map(|s| match s.source {
        SortSource::Column(_) | SortSource::CreatedAt => {
            let cols = vec![s.name.to_string(), "id".to_owned()];
            Some(index(&cols, &cols, &format!("list_by_{}", s.name)))
        }
        SortSource::Id => None,
    });
    let filters = repo.filters.iter().map(|f| filter_index(repo, f));
    quote! {
        ::es_entity::schema::Table::new(#table)
            .column(#id)
            .column(#created_at)
            #(#columns)*
            #deleted
            .primary_key(&["id"])
            #(#sorts)*
            #(#filters)*
    }
}

/// A `list_for` column: an index leading with it finds the rows without a
/// scan; the DDL's index continues with the first order it combines with,
/// so that listing walks it in order too.
fn filter_index(repo: &Repo, f: &Filter) -> TokenStream {
    let name = f.name.to_string();
    let first = f.by.first().map(|&i| &repo.sorts[i]);
    let mut columns = vec![name.clone()];
    if let Some(s) = first
        && !matches!(s.source, SortSource::Id)
    {
        columns.push(s.name.to_string());
    }
    columns.push("id".to_owned());
    let purpose = match first {
        Some(s) => format!("list_for_{name}_by_{}", s.name),
        None => format!("list_for_{name}"),
    };
    index(&[name], &columns, &purpose)
}

/// `#[es_repo(snapshot)]`'s table: one row per entity (see `sql::snapshot`).
fn snapshot_table(repo: &Repo, table: &str) -> TokenStream {
    let index_table = &repo.tables.index;
    let id_ty = &repo.id_ty;
    let cols = [
        column("id", &quote!(#id_ty), quote!(NotNull)),
        column("sequence", &quote!(i32), quote!(NotNull)),
        column("version", &quote!(i32), quote!(NotNull)),
        column(
            "snapshot",
            &quote!(::es_entity::__private::serde_json::Value),
            quote!(NotNull),
        ),
        column("first_recorded_at", &time_ty(), quote!(NotNull)),
        column("recorded_at", &time_ty(), quote!(NotNull)),
    ];
    quote! {
        ::es_entity::schema::Table::new(#table)
            #(.column(#cols))*
            .primary_key(&["id"])
            .foreign_key(::es_entity::schema::ForeignKey {
                columns: ::std::vec![::std::string::String::from("id")],
                references: ::std::string::String::from(#index_table),
                referenced_columns: ::std::vec![::std::string::String::from("id")],
            })
    }
}

fn events_table(repo: &Repo) -> TokenStream {
    let table = &repo.tables.events;
    let index_table = &repo.tables.index;
    let id_ty = &repo.id_ty;
    let json = quote!(::es_entity::__private::serde_json::Value);
    let cols = [
        column("id", &quote!(#id_ty), quote!(NotNull)),
        column("sequence", &quote!(i32), quote!(NotNull)),
        column(
            "event_type",
            &quote!(::std::string::String),
            quote!(NotNull),
        ),
        column("event", &json, quote!(NotNull)),
        column("context", &json, quote!(Nullable)),
        column("recorded_at", &time_ty(), quote!(NotNull)),
    ];
    let feed = if repo.feed {
        let position = column("position", &quote!(i64), quote!(NotNull));
        let position_default = format!("nextval('{FEED_SEQUENCE}')");
        let by = ["transaction_id".to_owned(), "position".to_owned()];
        let feed_index = index(&by, &by, "the feed");
        quote! {
            // `xid8` has no Rust type in sqlx: matched by name.
            .column(
                ::es_entity::schema::Column::named("transaction_id", "XID8", ::es_entity::schema::Need::NotNull)
                    .default("pg_current_xact_id()"),
            )
            .column(#position.default(#position_default))
            #feed_index
        }
    } else {
        TokenStream::new()
    };
    quote! {
        ::es_entity::schema::Table::new(#table)
            #(.column(#cols))*
            #feed
            .unique(&["id", "sequence"])
            .foreign_key(::es_entity::schema::ForeignKey {
                columns: ::std::vec![::std::string::String::from("id")],
                references: ::std::string::String::from(#index_table),
                referenced_columns: ::std::vec![::std::string::String::from("id")],
            })
    }
}
