//! `update`, `update_in_op`, `update_all`, `update_all_in_op`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::repo::Repo;
use crate::sql;

pub(super) fn expand(repo: &Repo) -> TokenStream {
    let Repo {
        pool,
        entity,
        names,
        ..
    } = repo;
    let err = &names.modify_error;
    let name = format_ident!("__es_update");
    let write = super::shared::writer(repo, &name, &sql::update(repo), true);
    let all = update_all(repo);
    if super::nested::is_parent(repo) && repo.post_persist_hook.is_none() {
        let one = super::nested::update(repo);
        return quote! {
            #all
            #one
            #write
        };
    }
    let (doc, write_on_pool, write_in_op) = match &repo.post_persist_hook {
        None => (
            quote! {
                /// Appends the entity's new events and refreshes its index row in one
                /// statement. Returns how many events were written; with none, no SQL runs.
            },
            quote!(Self::#name(&mut *__conn, ::core::option::Option::None, entity).await),
            quote!(Self::#name(::es_entity::AtomicOperation::as_executor(op), __now, entity).await),
        ),
        Some(_) => {
            let hook =
                super::shared::after_update(quote!(::es_entity::ModifyError), quote!(__written));
            (
                quote! {
                    /// Appends the entity's new events and refreshes its index row in one
                    /// statement, runs the post-persist hook, and commits both in one
                    /// transaction. Returns how many events were written; with none, no
                    /// SQL runs and the hook does not run.
                },
                super::shared::in_transaction(
                    quote!(self.update_in_op(&mut __op, entity)),
                    quote!(|__written: &usize| {
                        ::es_entity::__private::post_persist::unmark(entity, *__written)
                    }),
                ),
                quote! {{
                    let __written =
                        Self::#name(::es_entity::AtomicOperation::as_executor(op), __now, entity)
                            .await?;
                    #hook
                    ::core::result::Result::Ok(__written)
                }},
            )
        }
    };
    quote! {
        #all

        #doc
        pub async fn update(
            &self,
            entity: &mut #entity,
        ) -> ::core::result::Result<usize, #err> {
            if !::es_entity::EsEntity::events(entity).any_new() {
                return ::core::result::Result::Ok(0);
            }
            let mut __conn = self.#pool.acquire().await?;
            let __result = #write_on_pool;
            Self::__es_with_actual_version(&mut *__conn, __result).await
        }

        /// [`Self::update`] inside the caller's transaction.
        pub async fn update_in_op<__Op: ::es_entity::AtomicOperation>(
            &self,
            op: &mut __Op,
            entity: &mut #entity,
        ) -> ::core::result::Result<usize, #err> {
            if !::es_entity::EsEntity::events(entity).any_new() {
                return ::core::result::Result::Ok(0);
            }
            let __now = ::es_entity::AtomicOperation::maybe_now(op);
            #write_in_op
        }

        #write
    }
}

/// `update_all`, `update_all_in_op`: one statement for every entity with new events.
fn update_all(repo: &Repo) -> TokenStream {
    let Repo {
        pool,
        entity,
        id_ty,
        names,
        tables,
        ..
    } = repo;
    let err = &names.modify_error;
    let col_enum = &names.column_enum;
    let events_tbl = &tables.events;
    let sql = sql::update_all(repo);
    let time_ty = super::shared::time_ty();
    let var = format_ident!("entity");
    let super::shared::ColumnArrays {
        declare,
        push,
        args: array_args,
        ids,
    } = super::shared::column_arrays(repo, &var);
    let bulk_events = super::shared::bulk_event_args(&format_ident!("__events"));
    let (snaps_decl, snaps_push, snaps_args) =
        super::snapshot::update_all_args(repo, &var, &quote!(__histories.len()));
    let snaps_mark = super::snapshot::update_all_written(repo, &var);
    let (doc, write_on_pool, write_in_op) = match &repo.post_persist_hook {
        None => (
            quote! {
                /// Writes the new events of every entity that has some, and refreshes
                /// their index rows, in one statement, all or nothing. Returns how many
                /// events were written; when no entity has new events nothing is sent.
            },
            quote! {
                let __result =
                    Self::__es_update_all(&mut *__conn, ::core::option::Option::None, entities).await;
            },
            quote! {
                Self::__es_update_all(::es_entity::AtomicOperation::as_executor(op), __now, entities).await
            },
        ),
        Some(_) => {
            let in_tx = super::shared::in_transaction(
                quote!(self.update_all_in_op(&mut __op, entities)),
                quote!(|_| ::es_entity::__private::post_persist::unmark_all(entities, &__counts)),
            );
            (
                quote! {
                    /// Writes the new events of every entity that has some, and refreshes
                    /// their index rows, in one statement; runs the post-persist hook once
                    /// for each of those entities, in batch order; and commits all of it
                    /// in one transaction, all or nothing. Returns how many events were
                    /// written; when no entity has new events nothing is sent and the
                    /// hook does not run.
                },
                quote! {
                    let __counts = ::es_entity::__private::post_persist::new_counts(entities);
                    let __result = #in_tx;
                },
                quote! {{
                    let __counts = ::es_entity::__private::post_persist::new_counts(entities);
                    let __written =
                        Self::__es_update_all(::es_entity::AtomicOperation::as_executor(op), __now, entities)
                            .await?;
                    let mut __failed = ::core::option::Option::None;
                    for (__entity, __n) in ::core::iter::Iterator::zip(entities.iter(), __counts.iter()) {
                        if *__n == 0 {
                            continue;
                        }
                        if let ::core::result::Result::Err(__hook) =
                            self.__es_post_persist(op, __entity, *__n).await
                        {
                            __failed = ::core::option::Option::Some(__hook);
                            break;
                        }
                    }
                    if let ::core::option::Option::Some(__hook) = __failed {
                        ::es_entity::__private::post_persist::unmark_all(entities, &__counts);
                        return ::core::result::Result::Err(::es_entity::ModifyError::PostPersistHook(__hook));
                    }
                    ::core::result::Result::Ok(__written)
                }},
            )
        }
    };
    let public = if super::nested::is_parent(repo) && repo.post_persist_hook.is_none() {
        super::nested::update_all(repo)
    } else {
        quote! {
            #doc
            pub async fn update_all(
                &self,
                entities: &mut [#entity],
            ) -> ::core::result::Result<usize, #err> {
                if !entities.iter().any(|e| ::es_entity::EsEntity::events(e).any_new()) {
                    return ::core::result::Result::Ok(0);
                }
                let mut __conn = self.#pool.acquire().await?;
                #write_on_pool
                Self::__es_with_actual_version(&mut *__conn, __result).await
            }

            /// [`Self::update_all`] inside the caller's transaction.
            pub async fn update_all_in_op<__Op: ::es_entity::AtomicOperation>(
                &self,
                op: &mut __Op,
                entities: &mut [#entity],
            ) -> ::core::result::Result<usize, #err> {
                if !entities.iter().any(|e| ::es_entity::EsEntity::events(e).any_new()) {
                    return ::core::result::Result::Ok(0);
                }
                let __now = ::es_entity::AtomicOperation::maybe_now(op);
                #write_in_op
            }
        }
    };
    quote! {
        #public

        #[doc(hidden)]
        async fn __es_update_all(
            __conn: &mut ::es_entity::__private::sqlx::PgConnection,
            __now: #time_ty,
            __entities: &mut [#entity],
        ) -> ::core::result::Result<usize, #err> {
            let __constraints = Self::__es_catalog(&mut *__conn).await?;
            // Outside a transaction the statement commits by itself: a
            // connection lost while it is out leaves its outcome unknown.
            let __autocommit =
                !::es_entity::__private::sqlx::Connection::is_in_transaction(&*__conn);
            #snaps_decl
            let __done = {
                let mut #ids: ::std::vec::Vec<#id_ty> = ::std::vec::Vec::new();
                #(#declare)*
                let mut __histories = ::std::vec::Vec::new();
                for #var in __entities.iter() {
                    let __events = ::es_entity::EsEntity::events(#var);
                    if !__events.any_new() {
                        continue;
                    }
                    #ids.push(::core::clone::Clone::clone(__events.id()));
                    #(#push)*
                    __histories.push(__events);
                    #snaps_push
                }
                if let ::core::option::Option::Some(entity_id) =
                    ::es_entity::__private::first_duplicate(&__ids)
                {
                    return ::core::result::Result::Err(::es_entity::ModifyError::DuplicateEntity {
                        entity_id,
                    });
                }
                let __events = ::es_entity::__private::BulkEvents::for_update(&__histories)?;
                let __lookup = |matches: &dyn ::core::ops::Fn(&str) -> bool| {
                    __histories
                        .iter()
                        .find(|h| matches(&::std::string::ToString::to_string(h.id())))
                        .map(|h| (::core::clone::Clone::clone(h.id()), h.len_persisted()))
                };
                ::sqlx::query!(
                    #sql,
                    __now as #time_ty,
                    #(#array_args,)*
                    #bulk_events
                    #snaps_args
                )
                .fetch_one(&mut *__conn)
                .await
                .map_err(|e| {
                    ::es_entity::__private::bulk_modify_error::<#col_enum>(e, #events_tbl, __constraints, __autocommit, &__lookup)
                })?
            };
            #snaps_mark
            let mut __written = 0;
            for #var in __entities.iter_mut() {
                __written += ::es_entity::__private::EntityEventsExt::mark_new_events_persisted_at(
                    ::es_entity::EsEntity::events_mut(#var),
                    __done.now,
                );
            }
            ::core::result::Result::Ok(__written)
        }
    }
}
