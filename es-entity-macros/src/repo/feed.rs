//! The feed (`#[es_repo(feed)]`): `feed_after`, `feed_checkpoint_of`, and the
//! repository's `es_entity::FeedSource` impl that projections read through.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::repo::Repo;
use crate::sql;

/// The inherent methods.
pub(super) fn expand(repo: &Repo) -> TokenStream {
    if !repo.feed {
        return TokenStream::new();
    }
    let Repo {
        pool,
        id_ty,
        event_ty,
        entity,
        names,
        ..
    } = repo;
    let err = &names.query_error;
    let sql = sql::feed_after(repo);
    let checkpoint_sql = sql::feed_checkpoint_of(repo);
    let id_arg = super::shared::bind(id_ty, repo.id_check, &quote!(__events.id()));
    let batch = quote!(::es_entity::FeedBatch<::es_entity::FeedEvent<#id_ty, #event_ty>>);
    let doc = format!(
        "Reads at most `limit` `{}` events after `checkpoint` (from the start for `None`) in feed order: \
         only events of transactions older than every running one, ordered by `(transaction_id, position)`. \
         Continue from the batch's `checkpoint`; see [`es_entity::FeedBatch`].",
        names.entity
    );
    quote! {
        #[doc = #doc]
        pub async fn feed_after(
            &self,
            checkpoint: ::core::option::Option<::es_entity::FeedCheckpoint>,
            limit: usize,
        ) -> ::core::result::Result<#batch, #err> {
            self.feed_after_in_op(&self.#pool, checkpoint, limit).await
        }

        #[doc = #doc]
        pub async fn feed_after_in_op<'__a>(
            &self,
            op: impl ::es_entity::IntoOneTimeExecutor<'__a>,
            checkpoint: ::core::option::Option<::es_entity::FeedCheckpoint>,
            limit: usize,
        ) -> ::core::result::Result<#batch, #err> {
            let (__tx, __pos) = ::es_entity::__private::feed_after(checkpoint);
            let __limit = ::es_entity::__private::feed_limit(limit);
            let __rows = ::es_entity::IntoOneTimeExecutor::into_executor(op)
                .fetch_all(::sqlx::query_as!(
                    ::es_entity::__private::FeedRow,
                    #sql,
                    __tx,
                    __pos,
                    __limit
                ))
                .await?;
            ::core::result::Result::Ok(::es_entity::__private::feed_batch::<#event_ty>(
                __rows, checkpoint, limit,
            )?)
        }

        /// The feed checkpoint of `entity`'s last stored event (`None` when it
        /// has none): after a write, the token to wait for with a
        /// projection's `wait_for` (read-your-writes). One statement.
        pub async fn feed_checkpoint_of(
            &self,
            entity: &#entity,
        ) -> ::core::result::Result<::core::option::Option<::es_entity::FeedCheckpoint>, #err> {
            let __events = ::es_entity::EsEntity::events(entity);
            let ::core::option::Option::Some(__sequence) =
                ::es_entity::__private::last_sequence(__events)
            else {
                return ::core::result::Result::Ok(::core::option::Option::None);
            };
            let __row = ::sqlx::query!(#checkpoint_sql, #id_arg, __sequence)
                .fetch_optional(&self.#pool)
                .await?;
            ::core::result::Result::Ok(__row.map(|r| ::es_entity::FeedCheckpoint {
                transaction_id: r.transaction_id,
                position: r.position,
            }))
        }
    }
}

/// `impl es_entity::FeedSource`, outside the inherent impl. Generic
/// repositories get it where they are `Send + Sync + 'static`.
pub(super) fn expand_source(repo: &Repo) -> TokenStream {
    if !repo.feed {
        return TokenStream::new();
    }
    let Repo {
        ident,
        generics,
        id_ty,
        event_ty,
        tables,
        ..
    } = repo;
    let (impl_g, ty_g, where_g) = generics.split_for_impl();
    let mut where_clause = where_g.cloned().unwrap_or_else(|| syn::parse_quote!(where));
    where_clause
        .predicates
        .push(syn::parse_quote!(Self: ::core::marker::Send + ::core::marker::Sync + 'static));
    let sql = sql::feed_after(repo);
    let events_tbl = &tables.events;
    let batch = quote!(::es_entity::FeedBatch<::es_entity::FeedEvent<#id_ty, #event_ty>>);
    quote! {
        #[automatically_derived]
        impl #impl_g ::es_entity::FeedSource for #ident #ty_g #where_clause {
            type Item = ::es_entity::FeedEvent<#id_ty, #event_ty>;

            const EVENTS_TABLE: &'static str = #events_tbl;

            fn read_feed<'__c>(
                conn: &'__c mut ::es_entity::__private::sqlx::PgConnection,
                checkpoint: ::core::option::Option<::es_entity::FeedCheckpoint>,
                limit: usize,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#batch, ::es_entity::FeedReadError>,
            > + ::core::marker::Send + '__c {
                async move {
                    let (__tx, __pos) = ::es_entity::__private::feed_after(checkpoint);
                    let __limit = ::es_entity::__private::feed_limit(limit);
                    let __rows = ::sqlx::query_as!(
                        ::es_entity::__private::FeedRow,
                        #sql,
                        __tx,
                        __pos,
                        __limit
                    )
                    .fetch_all(conn)
                    .await?;
                    ::core::result::Result::Ok(::es_entity::__private::feed_batch::<#event_ty>(
                        __rows, checkpoint, limit,
                    )?)
                }
            }
        }
    }
}
