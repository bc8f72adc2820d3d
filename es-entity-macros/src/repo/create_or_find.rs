//! `create_or_find`, `create_or_find_in_op`: create the entity, or load the
//! one that already holds its id or `unique` column values.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::repo::{IdSource, Repo};
use crate::sql;

pub(super) fn expand(repo: &Repo) -> TokenStream {
    // With ids the repository assigns, the keys are the `unique` columns
    // only (a new id is held by nobody); without one there is nothing to
    // find, so the family is not generated: `create` is the call.
    if repo.id_source == IdSource::Repo && !repo.columns.iter().any(|c| c.unique) {
        return TokenStream::new();
    }
    let Repo {
        pool,
        entity,
        id_ty,
        event_ty,
        names,
        tables,
        ..
    } = repo;
    let err = &names.create_error;
    let col_enum = &names.column_enum;
    let events_tbl = &tables.events;
    let time_ty = super::shared::time_ty();
    let new = format_ident!("new");
    let batch = format_ident!("__batch");
    let into_events = super::shared::into_events(repo, &new);

    // The columns `create` writes, read from the `New` value.
    let created: Vec<_> = repo
        .columns
        .iter()
        .filter_map(|c| c.create.as_ref().map(|acc| (c, acc)))
        .collect();
    let (locals, args) = super::shared::column_locals(repo, &new);
    let key_args: Vec<_> = created
        .iter()
        .enumerate()
        .filter(|(_, (c, _))| c.unique)
        .map(|(i, (c, _))| {
            let local = format_ident!("__c{}", i);
            super::shared::bind(&c.ty, c.check, &quote!(&#local))
        })
        .collect();
    let id_arg = super::shared::bind(id_ty, repo.id_check, &quote!(__events.id()));
    let event_args = super::shared::event_args(&batch);
    let sql = sql::create_if_free(repo);
    let create_sql = sql::create(repo);
    let holders_sql = sql::key_holders(repo);
    let new_ty = quote!(<#entity as ::es_entity::EsEntity>::New);
    let outcome = quote!(::es_entity::CreateOrFind<#entity>);

    let (pool_body, in_op_body) = match &repo.post_persist_hook {
        None => (
            quote! {
                let mut __conn = self.#pool.acquire().await?;
                self.__es_create_or_find(&mut *__conn, ::core::option::Option::None, new)
                    .await
            },
            quote! {
                let __now = ::es_entity::AtomicOperation::maybe_now(op);
                self.__es_create_or_find(::es_entity::AtomicOperation::as_executor(op), __now, new)
                    .await
            },
        ),
        Some(_) => (
            {
                let write = super::shared::in_transaction(
                    quote!(self.create_or_find_in_op(&mut __op, new)),
                    super::shared::nothing_to_undo(),
                );
                quote! {
                    let mut __conn = self.#pool.acquire().await?;
                    #write
                }
            },
            quote! {
                let __now = ::es_entity::AtomicOperation::maybe_now(op);
                let __outcome = self
                    .__es_create_or_find(::es_entity::AtomicOperation::as_executor(op), __now, new)
                    .await?;
                if let ::es_entity::CreateOrFind::Created(__entity) = &__outcome {
                    let __written = ::es_entity::EsEntity::events(__entity).len_persisted();
                    self.__es_post_persist(op, __entity, __written)
                        .await
                        .map_err(::es_entity::CreateError::PostPersistHook)?;
                }
                ::core::result::Result::Ok(__outcome)
            },
        ),
    };

    let keys = match repo.id_source {
        IdSource::Caller => quote! {
            /// Creates the entity, or, when an existing entity already holds its
            /// id or the value of a column declared `unique`, loads that one
        },
        // The repository's fresh id is held by nobody: the columns are the keys.
        IdSource::Repo => quote! {
            /// Creates the entity under a new id the repository assigns, or, when
            /// an existing entity already holds the value of a column declared
            /// `unique`, loads that one
        },
    };
    quote! {
        #keys
        /// instead and stores nothing: `CreateOrFind::Created` or
        /// `CreateOrFind::Found`. Racing callers with the same keys get one
        /// `Created` and `Found`s of that same entity, no error. Keys held
        /// by different entities are `CreateError::KeysSpanEntities`; a
        /// soft-deleted holder is `CreateError::KeyHeldByDeleted`.
        ///
        /// One statement when it creates; three when it finds (the insert
        /// that stores nothing, the holders' ids, the holder's events).
        pub async fn create_or_find(
            &self,
            new: #new_ty,
        ) -> ::core::result::Result<#outcome, #err>
        {
            #pool_body
        }

        /// [`Self::create_or_find`] inside the caller's transaction. Under
        /// `READ COMMITTED` (PostgreSQL's default) it sees a holder that
        /// committed while it waited; under `REPEATABLE READ` such a race is
        /// a serialization failure (SQLSTATE 40001) to retry.
        pub async fn create_or_find_in_op<__Op: ::es_entity::AtomicOperation>(
            &self,
            op: &mut __Op,
            new: #new_ty,
        ) -> ::core::result::Result<#outcome, #err>
        {
            #in_op_body
        }

        #[doc(hidden)]
        async fn __es_create_or_find(
            &self,
            __conn: &mut ::es_entity::__private::sqlx::PgConnection,
            __now: #time_ty,
            #new: #new_ty,
        ) -> ::core::result::Result<#outcome, #err> {
            let __constraints = Self::__es_catalog(&mut *__conn).await?;
            let __autocommit =
                !::es_entity::__private::sqlx::Connection::is_in_transaction(&*__conn);
            #(#locals)*
            let mut __events: ::es_entity::EntityEvents<#event_ty> = #into_events;
            let #batch = ::es_entity::__private::EventBatch::new(
                &__events,
                ::es_entity::__private::ReadBack::Skip,
            )?;
            ::es_entity::__private::check_hydrates::<#entity>(
                &__events,
                &#batch.events,
                __now.unwrap_or_else(::es_entity::__private::chrono::Utc::now),
            )?;
            // First try: the insert that stores nothing when a unique
            // constraint already holds one of the values.
            let __row = ::sqlx::query!(
                #sql,
                #id_arg,
                __now as #time_ty,
                #(#args,)*
                #event_args
            )
            .fetch_optional(&mut *__conn)
            .await
            .map_err(|e| ::es_entity::__private::create_error::<#col_enum>(e, #events_tbl, __constraints, __autocommit))?;
            if let ::core::option::Option::Some(__row) = __row {
                ::core::mem::drop(#batch);
                ::es_entity::__private::EntityEventsExt::mark_new_events_persisted_at(&mut __events, __row.now);
                return ::core::result::Result::Ok(::es_entity::CreateOrFind::Created(
                    <#entity as ::es_entity::TryFromEvents<#event_ty>>::try_from_events(__events)?,
                ));
            }
            // Something holds a key: who, as committed now (a new statement,
            // so also a holder that committed while the insert waited on it).
            let __holders = ::sqlx::query_scalar!(#holders_sql, #id_arg #(, #key_args)*)
                .fetch_all(&mut *__conn)
                .await?;
            match ::es_entity::__private::key_holders::<#id_ty, #col_enum>(__holders)? {
                ::es_entity::__private::KeyHolders::One(__holder) => {
                    let __loaded = self
                        .find_by_id_in_op(
                            ::es_entity::__private::executor_on(&mut *__conn, __now),
                            &__holder,
                        )
                        .await;
                    ::es_entity::__private::found_holder(__loaded, &__holder)
                }
                // The holder is gone, or the conflict was on a constraint no
                // `unique` column names: the plain insert, in a savepoint,
                // stores the entity or fails with the duplicate it hits.
                ::es_entity::__private::KeyHolders::Nobody => {
                    let mut __sp =
                        ::es_entity::__private::sqlx::Connection::begin(&mut *__conn).await?;
                    let __row = ::sqlx::query!(
                        #create_sql,
                        #id_arg,
                        __now as #time_ty,
                        #(#args,)*
                        #event_args
                    )
                    .fetch_one(&mut *__sp)
                    .await;
                    match __row {
                        ::core::result::Result::Ok(__row) => {
                            __sp.commit().await?;
                            ::core::mem::drop(#batch);
                            ::es_entity::__private::EntityEventsExt::mark_new_events_persisted_at(&mut __events, __row.now);
                            ::core::result::Result::Ok(::es_entity::CreateOrFind::Created(
                                <#entity as ::es_entity::TryFromEvents<#event_ty>>::try_from_events(__events)?,
                            ))
                        }
                        ::core::result::Result::Err(__e) => {
                            let _ = __sp.rollback().await;
                            ::core::result::Result::Err(::es_entity::__private::create_error::<#col_enum>(
                                __e, #events_tbl, __constraints, false,
                            ))
                        }
                    }
                }
            }
        }
    }
}
