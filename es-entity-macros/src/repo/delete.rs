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
    let write = super::update::writer(repo, &writer, &sql::delete(repo));
    quote! {
        /// Marks the entity deleted and writes its new events (e.g. a `Deleted`
        /// event) in one statement, with the same concurrency check as `update`.
        /// Reads ignore it from then on; the `*_include_deleted` variants see it.
        pub async fn delete(&self, mut entity: #entity) -> ::core::result::Result<(), #err> {
            let mut __conn = self.#pool.acquire().await?;
            let __result = Self::#writer(&mut *__conn, ::core::option::Option::None, &mut entity).await;
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
            Self::#writer(::es_entity::AtomicOperation::as_executor(op), __now, &mut entity).await?;
            ::core::result::Result::Ok(())
        }

        #write
    }
}
