//! `delete`, `delete_in_op` (only with `delete = "soft"`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::repo::Repo;
use crate::sql;

pub(super) fn expand(repo: &Repo) -> TokenStream {
    if !repo.soft_delete {
        return TokenStream::new();
    }
    let Repo {
        pool,
        entity,
        names,
        ..
    } = repo;
    let err = &names.modify_error;
    let writer = format_ident!("__es_delete");
    let write = super::shared::writer(repo, &writer, &sql::delete(repo), false);
    let (doc, write_on_pool, hook) = match &repo.post_persist_hook {
        None => (
            quote! {
                /// Marks the entity deleted and writes its new events (e.g. a `Deleted`
                /// event) in one statement, with the same concurrency check as `update`.
                /// Reads ignore it from then on; the `*_include_deleted` variants see it.
            },
            quote! {
                let mut entity = entity;
                let __result = Self::#writer(&mut *__conn, ::core::option::Option::None, &mut entity).await;
            },
            TokenStream::new(),
        ),
        Some(_) => (
            quote! {
                /// Marks the entity deleted and writes its new events (e.g. a `Deleted`
                /// event) in one statement, with the same concurrency check as `update`;
                /// when it wrote events, runs the post-persist hook; and commits both in
                /// one transaction. Reads ignore it from then on; the
                /// `*_include_deleted` variants see it.
            },
            {
                let in_tx = super::shared::in_transaction(
                    quote!(self.delete_in_op(&mut __op, entity)),
                    super::shared::nothing_to_undo(),
                );
                quote!(let __result = #in_tx;)
            },
            // The entity is the caller's no more: nothing to put back.
            quote! {
                if __written > 0 {
                    self.__es_post_persist(op, &entity, __written)
                        .await
                        .map_err(::es_entity::ModifyError::PostPersistHook)?;
                }
            },
        ),
    };
    quote! {
        #doc
        pub async fn delete(&self, entity: #entity) -> ::core::result::Result<(), #err> {
            let mut __conn = self.#pool.acquire().await?;
            #write_on_pool
            Self::__es_with_actual_version(&mut *__conn, __result).await?;
            ::core::result::Result::Ok(())
        }

        /// [`Self::delete`] inside the caller's transaction.
        pub async fn delete_in_op<__Op: ::es_entity::AtomicOperation>(
            &self,
            op: &mut __Op,
            mut entity: #entity,
        ) -> ::core::result::Result<(), #err> {
            let __now = ::es_entity::AtomicOperation::maybe_now(op);
            let __written =
                Self::#writer(::es_entity::AtomicOperation::as_executor(op), __now, &mut entity).await?;
            #hook
            ::core::result::Result::Ok(())
        }

        #write
    }
}
