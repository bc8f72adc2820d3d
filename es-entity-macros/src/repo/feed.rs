//! `feed_after`: the repository's events in feed order (`#[es_repo(feed)]`).

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::repo::Repo;
use crate::sql;

pub(super) fn expand(repo: &Repo) -> TokenStream {
    if !repo.feed {
        return TokenStream::new();
    }
    let Repo {
        pool,
        id_ty,
        event_ty,
        names,
        ..
    } = repo;
    let err = &names.query_error;
    let sql = sql::feed_after(repo);
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
    }
}
