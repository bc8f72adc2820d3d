//! `update_unchecked`, `update_unchecked_in_op`: last-writer-wins updates.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::repo::Repo;
use crate::sql;

pub(super) fn expand(repo: &Repo) -> TokenStream {
    // A parent of nested children wraps these (repo/nested.rs, `versioned`):
    // here they write the parent's own statement only.
    let own = super::nested::OwnWrites::of(repo);
    let update_unchecked = own.name("update_unchecked");
    let update_unchecked_in_op = own.name("update_unchecked_in_op");
    let Repo {
        pool,
        entity,
        names,
        ..
    } = repo;
    let err = &names.unchecked_modify_error;
    let write = writer(repo);
    let (write_on_pool, write_in_op) = match &repo.post_persist_hook {
        None => (
            quote! {
                let mut __conn = self.#pool.acquire().await?;
                Self::__es_update_unchecked(&mut *__conn, ::core::option::Option::None, entity).await
            },
            quote! {
                let __now = ::es_entity::AtomicOperation::maybe_now(op);
                Self::__es_update_unchecked(::es_entity::AtomicOperation::as_executor(op), __now, entity)
                    .await
            },
        ),
        Some(_) => {
            let in_tx = super::shared::in_transaction(
                quote!(self.update_unchecked_in_op(&mut __op, entity)),
                quote!(|__done: &::es_entity::UncheckedWrite| {
                    ::es_entity::__private::post_persist::unmark(entity, __done.written)
                }),
            );
            // The hook gets this writer's events only: after events it
            // missed, the entity was rebuilt with them before its own.
            let hook = super::shared::after_update(
                quote!(::es_entity::UncheckedModifyError),
                quote!(__done.written),
            );
            (
                quote! {
                    let mut __conn = self.#pool.acquire().await?;
                    #in_tx
                },
                quote! {
                    let __now = ::es_entity::AtomicOperation::maybe_now(op);
                    let __done = Self::__es_update_unchecked(
                        ::es_entity::AtomicOperation::as_executor(op),
                        __now,
                        entity,
                    )
                    .await?;
                    #hook
                    ::core::result::Result::Ok(__done)
                },
            )
        }
    };
    let vis = own.vis();
    quote! {
        /// Appends the entity's new events after whatever its stream holds
        /// when the statement runs (last writer wins), and gives the index
        /// row this writer's column values, in one statement. There is no
        /// version check, so no conflict: its error type has none.
        ///
        /// Afterwards the entity agrees with the database: if other writers
        /// stored events since it was loaded, they come back from the same
        /// statement and the entity is rebuilt from its whole history (see
        /// [`es_entity::UncheckedWrite::missed`]). The index row takes
        /// this writer's column values, computed before the events it
        /// missed: last writer wins there too, until the refreshed entity's
        /// next write. With no new events nothing is sent.
        #vis async fn #update_unchecked(
            &self,
            entity: &mut #entity,
        ) -> ::core::result::Result<::es_entity::UncheckedWrite, #err> {
            if !::es_entity::EsEntity::events(entity).any_new() {
                return ::core::result::Result::Ok(::core::default::Default::default());
            }
            #write_on_pool
        }

        /// [`Self::update_unchecked`] inside the caller's transaction.
        #vis async fn #update_unchecked_in_op<__Op: ::es_entity::AtomicOperation>(
            &self,
            op: &mut __Op,
            entity: &mut #entity,
        ) -> ::core::result::Result<::es_entity::UncheckedWrite, #err> {
            if !::es_entity::EsEntity::events(entity).any_new() {
                return ::core::result::Result::Ok(::core::default::Default::default());
            }
            #write_in_op
        }

        #write
    }
}

/// The private writer: one statement (see `sql::update_unchecked`), then
/// the entity refreshed with the events it missed.
fn writer(repo: &Repo) -> TokenStream {
    let Repo {
        entity,
        id_ty,
        names,
        tables,
        ..
    } = repo;
    let err = &names.unchecked_modify_error;
    let col_enum = &names.column_enum;
    let events_tbl = &tables.events;
    let sql = sql::update_unchecked(repo);
    let time_ty = super::shared::time_ty();
    let var = format_ident!("entity");
    let (locals, args) = super::shared::column_args(repo, &var);
    let id_arg = super::shared::bind(id_ty, repo.id_check, &quote!(__id));
    quote! {
        #[doc(hidden)]
        async fn __es_update_unchecked(
            __conn: &mut ::es_entity::__private::sqlx::PgConnection,
            __now: #time_ty,
            #var: &mut #entity,
        ) -> ::core::result::Result<::es_entity::UncheckedWrite, #err> {
            let __constraints = Self::__es_catalog(&mut *__conn).await?;
            // Outside a transaction the statement commits by itself: a
            // connection lost while it is out leaves its outcome unknown.
            let __autocommit =
                !::es_entity::__private::sqlx::Connection::is_in_transaction(&*__conn);
            let (__id, __rows) = {
                let __events = ::es_entity::EsEntity::events(&*#var);
                let __id = __events.id();
                let __loaded = ::es_entity::__private::version_i32(__events.len_persisted());
                let #var: &#entity = &*#var;
                #(#locals)*
                let __batch = ::es_entity::__private::EventBatch::new(
                    __events,
                    ::es_entity::__private::ReadBack::Check,
                )?;
                let __rows = ::sqlx::query!(
                    #sql,
                    #id_arg,
                    __now as #time_ty,
                    __loaded,
                    #(#args,)*
                    &__batch.event_types[..] as &[&str],
                    &__batch.events as _,
                    &__batch.contexts as _
                )
                .fetch_all(&mut *__conn)
                .await
                .map_err(|e| {
                    ::es_entity::__private::unchecked_modify_error::<#col_enum>(
                        e,
                        #events_tbl,
                        __constraints,
                        __autocommit,
                        __id,
                    )
                })?;
                (::core::clone::Clone::clone(__id), __rows)
            };
            let ::core::option::Option::Some(__head) = __rows.first() else {
                return ::core::result::Result::Err(::es_entity::UncheckedModifyError::EntityNotFound {
                    entity_id: __id,
                });
            };
            if __head.found == 0 {
                return ::core::result::Result::Err(::es_entity::UncheckedModifyError::EntityNotFound {
                    entity_id: __id,
                });
            }
            if __head.landed == 0 {
                // The first new event's sequence, read under the row lock,
                // was taken: a writer appended without the lock. Nothing
                // was written.
                return ::core::result::Result::Err(::es_entity::UncheckedModifyError::LockBypassed {
                    entity_id: __id,
                });
            }
            let (__version, __at) = (__head.version.unwrap_or(0), __head.now);
            let mut __missed = ::std::vec::Vec::new();
            for __row in __rows {
                if let (
                    ::core::option::Option::Some(sequence),
                    ::core::option::Option::Some(event_type),
                    ::core::option::Option::Some(event),
                    ::core::option::Option::Some(recorded_at),
                ) = (__row.sequence, __row.event_type, __row.event, __row.recorded_at)
                {
                    __missed.push(::es_entity::GenericEvent {
                        entity_id: ::core::clone::Clone::clone(&__id),
                        sequence,
                        event_type,
                        event,
                        context: __row.context,
                        recorded_at,
                    });
                }
            }
            ::es_entity::__private::refresh_after_unchecked(#var, __missed, __version, __at)
                .map_err(::es_entity::UncheckedModifyError::RefreshFailed)
        }
    }
}
