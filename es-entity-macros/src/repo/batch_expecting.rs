//! `update_all_expecting`, `update_all_expecting_in_op`,
//! `update_all_unchecked`, `update_all_unchecked_in_op`: batches whose
//! entities each state an expectation of their stream (see
//! `sql::update_all_mixed`), in one statement.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::repo::Repo;
use crate::sql;

pub(super) fn expand(repo: &Repo) -> TokenStream {
    // A parent of nested children wraps these (repo/nested.rs, `versioned`):
    // here they write the parent's own statement only.
    let own = super::nested::OwnWrites::of(repo);
    let update_all_expecting = own.name("update_all_expecting");
    let update_all_expecting_in_op = own.name("update_all_expecting_in_op");
    let update_all_unchecked = own.name("update_all_unchecked");
    let update_all_unchecked_in_op = own.name("update_all_unchecked_in_op");
    let Repo {
        pool,
        entity,
        names,
        ..
    } = repo;
    let err = &names.modify_error;
    let unchecked_err = &names.unchecked_modify_error;
    let writer = writer(repo);
    // With a post-persist hook, the pool variants run the `_in_op` ones in
    // a transaction of their own; the `_in_op` variants run the hook.
    let hooked = repo.post_persist_hook.is_some();
    let (expecting_on_pool, unchecked_on_pool) = if hooked {
        let undo =
            quote!(|_| ::es_entity::__private::post_persist::unmark_all(entities, &__counts));
        let expecting = super::shared::in_transaction(
            quote!(self.update_all_expecting_in_op(&mut __op, entities, expected)),
            undo.clone(),
        );
        let unchecked = super::shared::in_transaction(
            quote!(self.update_all_unchecked_in_op(&mut __op, entities)),
            undo,
        );
        (
            quote! {
                let __counts = ::es_entity::__private::post_persist::new_counts(entities);
                let __result = #expecting;
            },
            quote! {
                let __counts = ::es_entity::__private::post_persist::new_counts(entities);
                #unchecked
            },
        )
    } else {
        (
            quote! {
                let __checked = match Self::__es_expect_each(entities, expected) {
                    ::core::result::Result::Ok(__checked) => __checked,
                    ::core::result::Result::Err(__err) => {
                        return Self::__es_with_actual_version(
                            &mut *__conn,
                            ::core::result::Result::Err(__err),
                        )
                        .await;
                    }
                };
                let __result = Self::__es_update_all_mixed(
                    &mut *__conn,
                    ::core::option::Option::None,
                    entities,
                    &__checked,
                )
                .await
                .map(|__done| __done.written)
                .map_err(::core::convert::Into::into);
            },
            quote! {
                let __checked = ::std::vec![false; entities.len()];
                Self::__es_update_all_mixed(&mut *__conn, ::core::option::Option::None, entities, &__checked)
                    .await
                    .map_err(::core::convert::Into::into)
            },
        )
    };
    let hooks = |err: TokenStream| {
        if hooked {
            quote! {
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
                    return ::core::result::Result::Err(#err::PostPersistHook(__hook));
                }
            }
        } else {
            TokenStream::new()
        }
    };
    let expecting_hooks = hooks(quote!(::es_entity::ModifyError));
    let unchecked_hooks = hooks(quote!(::es_entity::UncheckedModifyError));
    let counts = if hooked {
        quote!(let __counts = ::es_entity::__private::post_persist::new_counts(entities);)
    } else {
        TokenStream::new()
    };
    let vis = own.vis();
    quote! {
        /// [`Self::update_all`] where each entity states what it expects of
        /// its stream ([`es_entity::ExpectedVersion`], from `expected`; a
        /// plain `usize` is `Exact`), in one statement, all or nothing:
        ///
        /// - `Exact(n)` (and `NoStream`, which is `Exact(0)`): the entity must
        ///   have been loaded at version `n` and its stream still be there.
        ///   Otherwise the whole batch fails with `ConcurrentModification`
        ///   naming that entity, and nothing is written.
        /// - `StreamExists`, `Any`: its events are appended after whatever
        ///   its stream holds, as [`Self::update_unchecked`] does, and the
        ///   entity is refreshed with the events it missed.
        ///
        /// Every row of the batch is locked in id order first, as
        /// `update_all` does. A missing entity is `EntityNotFound`. Returns
        /// how many events were written; when no entity has new events,
        /// nothing is sent.
        #vis async fn #update_all_expecting<__V: ::core::convert::Into<::es_entity::ExpectedVersion>>(
            &self,
            entities: &mut [#entity],
            expected: impl ::core::ops::FnMut(&#entity) -> __V,
        ) -> ::core::result::Result<usize, #err> {
            if !entities.iter().any(|e| ::es_entity::EsEntity::events(e).any_new()) {
                return ::core::result::Result::Ok(0);
            }
            let mut __conn = self.#pool.acquire().await?;
            #expecting_on_pool
            Self::__es_with_actual_version(&mut *__conn, __result).await
        }

        /// [`Self::update_all_expecting`] inside the caller's transaction. A
        /// conflict found by the statement carries no actual version
        /// (PostgreSQL aborted the transaction with the statement); one
        /// found before anything is sent reads it in the transaction.
        #vis async fn #update_all_expecting_in_op<
            __Op: ::es_entity::AtomicOperation,
            __V: ::core::convert::Into<::es_entity::ExpectedVersion>,
        >(
            &self,
            op: &mut __Op,
            entities: &mut [#entity],
            expected: impl ::core::ops::FnMut(&#entity) -> __V,
        ) -> ::core::result::Result<usize, #err> {
            if !entities.iter().any(|e| ::es_entity::EsEntity::events(e).any_new()) {
                return ::core::result::Result::Ok(0);
            }
            let __checked = match Self::__es_expect_each(entities, expected) {
                ::core::result::Result::Ok(__checked) => __checked,
                ::core::result::Result::Err(__err) => {
                    return Self::__es_with_actual_version(
                        ::es_entity::AtomicOperation::as_executor(op),
                        ::core::result::Result::Err(__err),
                    )
                    .await;
                }
            };
            #counts
            let __now = ::es_entity::AtomicOperation::maybe_now(op);
            let __done = Self::__es_update_all_mixed(
                ::es_entity::AtomicOperation::as_executor(op),
                __now,
                entities,
                &__checked,
            )
            .await?;
            #expecting_hooks
            ::core::result::Result::Ok(__done.written)
        }

        /// [`Self::update_unchecked`] for a batch: every entity's new
        /// events are appended after whatever its stream holds, each entity
        /// refreshed with the events it missed, and the index rows take this
        /// writer's values, in one statement, all or nothing. Every row of
        /// the batch is locked in id order first, as `update_all` does.
        /// Returns the sums over the batch; when no entity has new events,
        /// nothing is sent.
        #vis async fn #update_all_unchecked(
            &self,
            entities: &mut [#entity],
        ) -> ::core::result::Result<::es_entity::UncheckedWrite, #unchecked_err> {
            if !entities.iter().any(|e| ::es_entity::EsEntity::events(e).any_new()) {
                return ::core::result::Result::Ok(::core::default::Default::default());
            }
            let mut __conn = self.#pool.acquire().await?;
            #unchecked_on_pool
        }

        /// [`Self::update_all_unchecked`] inside the caller's transaction.
        #vis async fn #update_all_unchecked_in_op<__Op: ::es_entity::AtomicOperation>(
            &self,
            op: &mut __Op,
            entities: &mut [#entity],
        ) -> ::core::result::Result<::es_entity::UncheckedWrite, #unchecked_err> {
            if !entities.iter().any(|e| ::es_entity::EsEntity::events(e).any_new()) {
                return ::core::result::Result::Ok(::core::default::Default::default());
            }
            let __checked = ::std::vec![false; entities.len()];
            #counts
            let __now = ::es_entity::AtomicOperation::maybe_now(op);
            let __done = Self::__es_update_all_mixed(
                ::es_entity::AtomicOperation::as_executor(op),
                __now,
                entities,
                &__checked,
            )
            .await?;
            #unchecked_hooks
            ::core::result::Result::Ok(__done)
        }

        /// Each entity's expectation, checked as far as it can be before
        /// anything is sent (see `__es_expect`): whether the statement must
        /// check its version (`true`) or append after its stream.
        #[doc(hidden)]
        fn __es_expect_each<__V: ::core::convert::Into<::es_entity::ExpectedVersion>>(
            entities: &[#entity],
            mut expected: impl ::core::ops::FnMut(&#entity) -> __V,
        ) -> ::core::result::Result<::std::vec::Vec<bool>, #err> {
            let mut __checked = ::std::vec::Vec::with_capacity(entities.len());
            for __entity in entities {
                if !::es_entity::EsEntity::events(__entity).any_new() {
                    __checked.push(true);
                    continue;
                }
                let __expected: ::es_entity::ExpectedVersion = expected(__entity).into();
                Self::__es_expect(__entity, __expected)?;
                __checked.push(__expected.is_checked());
            }
            ::core::result::Result::Ok(__checked)
        }

        #writer
    }
}

/// The private writer: one statement for the batch, then the checked
/// entities' events marked stored and the unchecked ones refreshed.
fn writer(repo: &Repo) -> TokenStream {
    let Repo {
        entity,
        id_ty,
        names,
        tables,
        ..
    } = repo;
    let col_enum = &names.column_enum;
    let events_tbl = &tables.events;
    let sql = sql::update_all_mixed(repo);
    let time_ty = super::shared::time_ty();
    let var = format_ident!("entity");
    let super::shared::ColumnArrays {
        declare,
        push,
        args: array_args,
        ids,
    } = super::shared::column_arrays(repo, &var);
    let bulk_events = super::shared::bulk_event_args(&format_ident!("__events"));
    quote! {
        #[doc(hidden)]
        async fn __es_update_all_mixed(
            __conn: &mut ::es_entity::__private::sqlx::PgConnection,
            __now: #time_ty,
            __entities: &mut [#entity],
            __modes: &[bool],
        ) -> ::core::result::Result<
            ::es_entity::UncheckedWrite,
            ::es_entity::__private::BatchWriteError<#col_enum>,
        > {
            let __constraints = Self::__es_catalog(&mut *__conn).await?;
            // Outside a transaction the statement commits by itself: a
            // connection lost while it is out leaves its outcome unknown.
            let __autocommit =
                !::es_entity::__private::sqlx::Connection::is_in_transaction(&*__conn);
            let (__positions, __checked, __rows) = {
                let mut #ids: ::std::vec::Vec<#id_ty> = ::std::vec::Vec::new();
                #(#declare)*
                let mut __histories = ::std::vec::Vec::new();
                let mut __loaded: ::std::vec::Vec<i32> = ::std::vec::Vec::new();
                let mut __checked: ::std::vec::Vec<bool> = ::std::vec::Vec::new();
                let mut __positions: ::std::vec::Vec<usize> = ::std::vec::Vec::new();
                for (__i, #var) in __entities.iter().enumerate() {
                    let __events = ::es_entity::EsEntity::events(#var);
                    if !__events.any_new() {
                        continue;
                    }
                    #ids.push(::core::clone::Clone::clone(__events.id()));
                    #(#push)*
                    __loaded.push(::es_entity::__private::version_i32(__events.len_persisted()));
                    __checked.push(__modes[__i]);
                    __positions.push(__i);
                    __histories.push(__events);
                }
                if let ::core::option::Option::Some(entity_id) =
                    ::es_entity::__private::first_duplicate(&__ids)
                {
                    return ::core::result::Result::Err(
                        ::es_entity::ModifyError::DuplicateEntity { entity_id }.into(),
                    );
                }
                let __events = ::es_entity::__private::BulkEvents::for_update(&__histories)?;
                let __lookup = |matches: &dyn ::core::ops::Fn(&str) -> bool| {
                    __histories
                        .iter()
                        .find(|h| matches(&::std::string::ToString::to_string(h.id())))
                        .map(|h| (::core::clone::Clone::clone(h.id()), h.len_persisted()))
                };
                let __rows = ::sqlx::query!(
                    #sql,
                    __now as #time_ty,
                    #(#array_args,)*
                    &__loaded[..] as &[i32],
                    &__checked[..] as &[bool],
                    #bulk_events
                )
                .fetch_all(&mut *__conn)
                .await
                .map_err(|e| {
                    ::es_entity::__private::bulk_modify_error::<#col_enum>(
                        e,
                        #events_tbl,
                        __constraints,
                        __autocommit,
                        &__lookup,
                    )
                })?;
                (__positions, __checked, __rows)
            };
            let __at = match __rows.first() {
                ::core::option::Option::Some(__row) => __row.now,
                // The statement always returns a row.
                ::core::option::Option::None => ::es_entity::__private::chrono::Utc::now(),
            };
            // Per position in the batch sent: the stream's version an
            // unchecked entity was appended after, and the events it missed.
            let mut __tails: ::std::vec::Vec<(
                i32,
                ::std::vec::Vec<::es_entity::GenericEvent<#id_ty>>,
            )> = (0..__positions.len()).map(|_| (0, ::std::vec::Vec::new())).collect();
            for __row in __rows {
                let ::core::option::Option::Some(__k) = __row.k else {
                    continue;
                };
                let ::core::option::Option::Some(__j) = usize::try_from(__k)
                    .ok()
                    .and_then(|__k| __k.checked_sub(1))
                    .filter(|__j| *__j < __positions.len())
                else {
                    continue;
                };
                let __slot = &mut __tails[__j];
                __slot.0 = __row.version.unwrap_or(0);
                if let (
                    ::core::option::Option::Some(sequence),
                    ::core::option::Option::Some(event_type),
                    ::core::option::Option::Some(event),
                    ::core::option::Option::Some(recorded_at),
                ) = (__row.sequence, __row.event_type, __row.event, __row.recorded_at)
                {
                    let __id = ::es_entity::EsEntity::events(&__entities[__positions[__j]]).id();
                    __slot.1.push(::es_entity::GenericEvent {
                        entity_id: ::core::clone::Clone::clone(__id),
                        sequence,
                        event_type,
                        event,
                        context: __row.context,
                        recorded_at,
                    });
                }
            }
            let mut __done = ::es_entity::UncheckedWrite::default();
            let mut __failed = ::core::option::Option::None;
            for (__j, (__i, (__version, __missed))) in
                __positions.iter().zip(__tails).enumerate()
            {
                let #var = &mut __entities[*__i];
                if __checked[__j] {
                    __done.written += ::es_entity::__private::EntityEventsExt::mark_new_events_persisted_at(
                        ::es_entity::EsEntity::events_mut(#var),
                        __at,
                    );
                    continue;
                }
                match ::es_entity::__private::refresh_after_unchecked(#var, __missed, __version, __at) {
                    ::core::result::Result::Ok(__one) => {
                        __done.written += __one.written;
                        __done.missed += __one.missed;
                    }
                    ::core::result::Result::Err(__e) => {
                        if __failed.is_none() {
                            __failed = ::core::option::Option::Some(__e);
                        }
                    }
                }
            }
            match __failed {
                ::core::option::Option::Some(__e) => ::core::result::Result::Err(
                    ::es_entity::__private::BatchWriteError::RefreshFailed(__e),
                ),
                ::core::option::Option::None => ::core::result::Result::Ok(__done),
            }
        }
    }
}
