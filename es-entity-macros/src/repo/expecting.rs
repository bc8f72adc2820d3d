//! `update_expecting`, `update_expecting_in_op`, and what every conflict
//! reports: the stream's actual version. (The batch forms are in
//! `batch_expecting`.)

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::repo::Repo;
use crate::sql;

pub(super) fn expand(repo: &Repo) -> TokenStream {
    // A parent of nested children wraps these (repo/nested.rs, `versioned`):
    // here they write the parent's own statement only.
    let own = super::nested::OwnWrites::of(repo);
    let update_expecting = own.name("update_expecting");
    let update_expecting_in_op = own.name("update_expecting_in_op");
    let Repo {
        pool,
        entity,
        id_ty,
        names,
        ..
    } = repo;
    let err = &names.modify_error;
    let version_sql = sql::stream_version(repo);
    let id_arg = super::shared::bind(id_ty, repo.id_check, &quote!(__id));
    let (write_on_pool, write_in_op) = match &repo.post_persist_hook {
        None => (
            quote! {
                let mut __conn = self.#pool.acquire().await?;
                if !expected.is_checked() {
                    return Self::__es_update_unchecked(&mut *__conn, ::core::option::Option::None, entity)
                        .await
                        .map(|__done| __done.written)
                        .map_err(::core::convert::Into::into);
                }
                let __result = Self::__es_update(&mut *__conn, ::core::option::Option::None, entity).await;
                Self::__es_with_actual_version(&mut *__conn, __result).await
            },
            quote! {
                let __now = ::es_entity::AtomicOperation::maybe_now(op);
                let __conn = ::es_entity::AtomicOperation::as_executor(op);
                if !expected.is_checked() {
                    return Self::__es_update_unchecked(__conn, __now, entity)
                        .await
                        .map(|__done| __done.written)
                        .map_err(::core::convert::Into::into);
                }
                Self::__es_update(__conn, __now, entity).await
            },
        ),
        // The `_in_op` variants of `update` and `update_unchecked` run the hook.
        Some(_) => {
            let in_tx = super::shared::in_transaction(
                quote!(self.update_expecting_in_op(&mut __op, entity, expected)),
                quote!(|__written: &usize| {
                    ::es_entity::__private::post_persist::unmark(entity, *__written)
                }),
            );
            (
                quote! {
                    let mut __conn = self.#pool.acquire().await?;
                    let __result = #in_tx;
                    Self::__es_with_actual_version(&mut *__conn, __result).await
                },
                quote! {
                    if !expected.is_checked() {
                        return self
                            .update_unchecked_in_op(op, entity)
                            .await
                            .map(|__done| __done.written)
                            .map_err(::core::convert::Into::into);
                    }
                    self.update_in_op(op, entity).await
                },
            )
        }
    };
    let vis = own.vis();
    quote! {
        /// [`Self::update`] with an expectation of the entity's stream (see
        /// [`es_entity::ExpectedVersion`]), in one statement:
        ///
        /// - `Exact(n)`: fails with `ConcurrentModification` and writes
        ///   nothing unless the entity was loaded at version `n` and the
        ///   stream is still there when the statement runs.
        /// - `NoStream`: as `Exact(0)`. An update cannot create the entity,
        ///   so this fails: `ConcurrentModification` when the stream exists,
        ///   `EntityNotFound` when it does not (use `create`).
        /// - `StreamExists`, `Any`: no version check; the events are
        ///   appended after whatever the stream holds, as
        ///   [`Self::update_unchecked`] does (which also refreshes the
        ///   entity), and a missing entity is `EntityNotFound`.
        ///
        /// Returns how many events were written; with none, no SQL runs
        /// (an `Exact` expectation is then only compared with the version
        /// the entity was loaded at).
        #vis async fn #update_expecting(
            &self,
            entity: &mut #entity,
            expected: ::es_entity::ExpectedVersion,
        ) -> ::core::result::Result<usize, #err> {
            if let ::core::result::Result::Err(__err) = Self::__es_expect(entity, expected) {
                let mut __conn = self.#pool.acquire().await?;
                return Self::__es_with_actual_version(&mut *__conn, ::core::result::Result::Err(__err)).await;
            }
            if !::es_entity::EsEntity::events(entity).any_new() {
                return ::core::result::Result::Ok(0);
            }
            #write_on_pool
        }

        /// [`Self::update_expecting`] inside the caller's transaction. A
        /// conflict found by the statement carries no actual version
        /// (PostgreSQL aborted the transaction with the statement); one
        /// found before anything is sent (the entity was loaded at another
        /// version) reads it in the transaction.
        #vis async fn #update_expecting_in_op<__Op: ::es_entity::AtomicOperation>(
            &self,
            op: &mut __Op,
            entity: &mut #entity,
            expected: ::es_entity::ExpectedVersion,
        ) -> ::core::result::Result<usize, #err> {
            if let ::core::result::Result::Err(__err) = Self::__es_expect(entity, expected) {
                return Self::__es_with_actual_version(
                    ::es_entity::AtomicOperation::as_executor(op),
                    ::core::result::Result::Err(__err),
                )
                .await;
            }
            if !::es_entity::EsEntity::events(entity).any_new() {
                return ::core::result::Result::Ok(0);
            }
            #write_in_op
        }

        /// The part of an expectation checked before anything is sent: an
        /// exact version must be the one the entity was loaded at (the
        /// statement checks that the stream is still there).
        #[doc(hidden)]
        fn __es_expect(
            entity: &#entity,
            expected: ::es_entity::ExpectedVersion,
        ) -> ::core::result::Result<(), #err> {
            let __events = ::es_entity::EsEntity::events(entity);
            match expected.exact() {
                ::core::option::Option::Some(__version) if __version != __events.len_persisted() => {
                    ::core::result::Result::Err(::es_entity::__private::modify_conflict(
                        ::core::clone::Clone::clone(__events.id()),
                        __version,
                    ))
                }
                _ => ::core::result::Result::Ok(()),
            }
        }

        /// The stream's version (its number of events) as the database has
        /// it now, `None` if it cannot be read.
        #[doc(hidden)]
        async fn __es_stream_version(
            __conn: &mut ::es_entity::__private::sqlx::PgConnection,
            __id: &#id_ty,
        ) -> ::core::option::Option<usize> {
            let __row = ::sqlx::query!(#version_sql, #id_arg)
                .fetch_one(&mut *__conn)
                .await
                .ok()?;
            ::es_entity::__private::version_usize(__row.version.unwrap_or(0))
        }

        /// A lost race with the stream's actual version filled in, read on
        /// `__conn` (which must not be in an aborted transaction).
        #[doc(hidden)]
        async fn __es_with_actual_version<__T>(
            __conn: &mut ::es_entity::__private::sqlx::PgConnection,
            result: ::core::result::Result<__T, #err>,
        ) -> ::core::result::Result<__T, #err> {
            match result {
                ::core::result::Result::Err(::es_entity::ModifyError::ConcurrentModification {
                    entity_id,
                    expected_sequence,
                    expected_version,
                    actual_version: ::core::option::Option::None,
                }) => {
                    let actual_version = Self::__es_stream_version(__conn, &entity_id).await;
                    ::core::result::Result::Err(::es_entity::ModifyError::ConcurrentModification {
                        entity_id,
                        expected_sequence,
                        expected_version,
                        actual_version,
                    })
                }
                other => other,
            }
        }
    }
}
