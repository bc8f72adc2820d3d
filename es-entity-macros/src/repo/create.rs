//! `create`, `create_in_op`, `create_all`, `create_all_in_op`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::repo::Repo;
use crate::sql;

pub(super) fn expand(repo: &Repo) -> TokenStream {
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
    let sql = sql::create(repo);
    let time_ty = super::shared::time_ty();
    let new = format_ident!("new");
    let batch = format_ident!("__batch");
    let (locals, args) = super::shared::column_locals(repo, &new);
    let id_arg = super::shared::bind(id_ty, repo.id_check, &quote!(__events.id()));
    let event_args = super::shared::event_args(&batch);
    let all = create_all(repo);
    let into_events = super::shared::into_events(repo, &new);
    let (pool_body, in_op_body) = match &repo.post_persist_hook {
        None if super::nested::is_parent(repo) => super::nested::create_bodies(repo, false),
        None => (
            quote! {
                let mut __conn = self.#pool.acquire().await?;
                Self::__es_create(&mut *__conn, ::core::option::Option::None, new).await
            },
            quote! {
                let __now = ::es_entity::AtomicOperation::maybe_now(op);
                Self::__es_create(::es_entity::AtomicOperation::as_executor(op), __now, new).await
            },
        ),
        Some(_) => (
            {
                let write = super::shared::in_transaction(
                    quote!(self.create_in_op(&mut __op, new)),
                    super::shared::nothing_to_undo(),
                );
                quote! {
                    let mut __conn = self.#pool.acquire().await?;
                    #write
                }
            },
            quote! {
                let __now = ::es_entity::AtomicOperation::maybe_now(op);
                let __entity =
                    Self::__es_create(::es_entity::AtomicOperation::as_executor(op), __now, new)
                        .await?;
                let __written = ::es_entity::EsEntity::events(&__entity).len_persisted();
                self.__es_post_persist(op, &__entity, __written)
                    .await
                    .map_err(::es_entity::CreateError::PostPersistHook)?;
                ::core::result::Result::Ok(__entity)
            },
        ),
    };
    let doc = match &repo.post_persist_hook {
        None => quote! {
            /// Persists a new entity (its index row and first events) in one statement
            /// and returns it hydrated.
        },
        Some(_) => quote! {
            /// Persists a new entity (its index row and first events) in one statement,
            /// runs the post-persist hook, and commits both in one transaction;
            /// returns the entity hydrated.
        },
    };
    quote! {
        #all

        #doc
        pub async fn create(
            &self,
            new: <#entity as ::es_entity::EsEntity>::New,
        ) -> ::core::result::Result<#entity, #err> {
            #pool_body
        }

        /// [`Self::create`] inside the caller's transaction.
        pub async fn create_in_op<__Op: ::es_entity::AtomicOperation>(
            &self,
            op: &mut __Op,
            new: <#entity as ::es_entity::EsEntity>::New,
        ) -> ::core::result::Result<#entity, #err> {
            #in_op_body
        }

        #[doc(hidden)]
        async fn __es_create(
            __conn: &mut ::es_entity::__private::sqlx::PgConnection,
            __now: #time_ty,
            #new: <#entity as ::es_entity::EsEntity>::New,
        ) -> ::core::result::Result<#entity, #err> {
            let __constraints = Self::__es_catalog(&mut *__conn).await?;
            // Outside a transaction the statement commits by itself: a
            // connection lost while it is out leaves its outcome unknown.
            let __autocommit =
                !::es_entity::__private::sqlx::Connection::is_in_transaction(&*__conn);
            #(#locals)*
            let mut __events: ::es_entity::EntityEvents<#event_ty> = #into_events;
            let __row = {
                let #batch = ::es_entity::__private::EventBatch::new(
                    &__events,
                    ::es_entity::__private::ReadBack::Skip,
                )?;
                ::es_entity::__private::check_hydrates::<#entity>(
                    &__events,
                    &#batch.events,
                    __now.unwrap_or_else(::es_entity::__private::chrono::Utc::now),
                )?;
                ::sqlx::query!(
                    #sql,
                    #id_arg,
                    __now as #time_ty,
                    #(#args,)*
                    #event_args
                )
                .fetch_one(&mut *__conn)
                .await
                .map_err(|e| ::es_entity::__private::create_error::<#col_enum>(e, #events_tbl, __constraints, __autocommit))?
            };
            ::es_entity::__private::EntityEventsExt::mark_new_events_persisted_at(&mut __events, __row.now);
            ::core::result::Result::Ok(
                <#entity as ::es_entity::TryFromEvents<#event_ty>>::try_from_events(__events)?,
            )
        }
    }
}

/// `create_all`, `create_all_in_op`: one statement for the whole batch.
fn create_all(repo: &Repo) -> TokenStream {
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
    let sql = sql::create_all(repo);
    let time_ty = super::shared::time_ty();
    let new = format_ident!("new");
    let cols: Vec<_> = repo
        .columns
        .iter()
        .filter_map(|c| c.create.as_ref().map(|a| (c, a)))
        .collect();
    // One array per column, filled in input order.
    let arrays: Vec<_> = (0..cols.len()).map(|i| format_ident!("__v{}", i)).collect();
    let declare = cols.iter().zip(&arrays).map(|((c, _), v)| {
        let ty = &c.ty;
        quote!(let mut #v: ::std::vec::Vec<#ty> = ::std::vec::Vec::with_capacity(__new.len());)
    });
    let push = cols.iter().zip(&arrays).map(|((c, acc), v)| {
        let value = super::shared::owned(&c.ty, &acc.read(&new, &c.name));
        quote!(#v.push(#value);)
    });
    let ids = format_ident!("__ids");
    let array_args = std::iter::once(super::shared::bind_array(id_ty, repo.id_check, &ids)).chain(
        cols.iter()
            .zip(&arrays)
            .map(|((c, _), v)| super::shared::bind_array(&c.ty, c.check, v)),
    );
    let bulk_events = super::shared::bulk_event_args(&format_ident!("__events"));
    let into_events = super::shared::into_events(repo, &new);
    let (pool_body, in_op_body) = match &repo.post_persist_hook {
        None if super::nested::is_parent(repo) => super::nested::create_bodies(repo, true),
        None => (
            quote! {
                let mut __conn = self.#pool.acquire().await?;
                Self::__es_create_all(&mut *__conn, ::core::option::Option::None, new).await
            },
            quote! {
                let __now = ::es_entity::AtomicOperation::maybe_now(op);
                Self::__es_create_all(::es_entity::AtomicOperation::as_executor(op), __now, new).await
            },
        ),
        Some(_) => (
            {
                let write = super::shared::in_transaction(
                    quote!(self.create_all_in_op(&mut __op, new)),
                    super::shared::nothing_to_undo(),
                );
                quote! {
                    let mut __conn = self.#pool.acquire().await?;
                    #write
                }
            },
            quote! {
                let __now = ::es_entity::AtomicOperation::maybe_now(op);
                let __entities = Self::__es_create_all(
                    ::es_entity::AtomicOperation::as_executor(op),
                    __now,
                    new,
                )
                .await?;
                // Once per entity, in input order, after the one statement.
                for __entity in &__entities {
                    let __written = ::es_entity::EsEntity::events(__entity).len_persisted();
                    self.__es_post_persist(op, __entity, __written)
                        .await
                        .map_err(::es_entity::CreateError::PostPersistHook)?;
                }
                ::core::result::Result::Ok(__entities)
            },
        ),
    };
    let doc = match &repo.post_persist_hook {
        None => quote! {
            /// Persists many new entities in one statement, all or nothing, and
            /// returns them hydrated, in input order. An empty batch sends nothing.
        },
        Some(_) => quote! {
            /// Persists many new entities in one statement, runs the post-persist
            /// hook once per entity (in input order), and commits all of it in one
            /// transaction, all or nothing; returns them hydrated, in input order.
            /// An empty batch sends nothing.
        },
    };
    quote! {
        #doc
        pub async fn create_all(
            &self,
            new: ::std::vec::Vec<<#entity as ::es_entity::EsEntity>::New>,
        ) -> ::core::result::Result<::std::vec::Vec<#entity>, #err> {
            if new.is_empty() {
                return ::core::result::Result::Ok(::std::vec::Vec::new());
            }
            #pool_body
        }

        /// [`Self::create_all`] inside the caller's transaction.
        pub async fn create_all_in_op<__Op: ::es_entity::AtomicOperation>(
            &self,
            op: &mut __Op,
            new: ::std::vec::Vec<<#entity as ::es_entity::EsEntity>::New>,
        ) -> ::core::result::Result<::std::vec::Vec<#entity>, #err> {
            if new.is_empty() {
                return ::core::result::Result::Ok(::std::vec::Vec::new());
            }
            #in_op_body
        }

        #[doc(hidden)]
        async fn __es_create_all(
            __conn: &mut ::es_entity::__private::sqlx::PgConnection,
            __now: #time_ty,
            __new: ::std::vec::Vec<<#entity as ::es_entity::EsEntity>::New>,
        ) -> ::core::result::Result<::std::vec::Vec<#entity>, #err> {
            let __constraints = Self::__es_catalog(&mut *__conn).await?;
            // Outside a transaction the statement commits by itself: a
            // connection lost while it is out leaves its outcome unknown.
            let __autocommit =
                !::es_entity::__private::sqlx::Connection::is_in_transaction(&*__conn);
            let __at = __now.unwrap_or_else(::es_entity::__private::chrono::Utc::now);
            let mut #ids: ::std::vec::Vec<#id_ty> = ::std::vec::Vec::with_capacity(__new.len());
            #(#declare)*
            let mut __histories: ::std::vec::Vec<::es_entity::EntityEvents<#event_ty>> =
                ::std::vec::Vec::with_capacity(__new.len());
            for #new in __new {
                // Column values first: `into_events` consumes the `New` value.
                #(#push)*
                let __events: ::es_entity::EntityEvents<#event_ty> = #into_events;
                #ids.push(::core::clone::Clone::clone(__events.id()));
                __histories.push(__events);
            }
            // Each event serialized once and parsed back once (unless proven
            // to read back, in release builds); each new entity hydrated from
            // its events before anything is sent (nothing unreadable is stored).
            let (__done, __checked) = {
                let (__events, __checked) =
                    ::es_entity::__private::BulkEvents::for_create::<#entity>(__histories, __at)?;
                let __done = ::sqlx::query!(
                    #sql,
                    __now as #time_ty,
                    #(#array_args,)*
                    #bulk_events
                )
                .fetch_one(&mut *__conn)
                .await
                .map_err(|e| ::es_entity::__private::create_error::<#col_enum>(e, #events_tbl, __constraints, __autocommit))?;
                (__done, __checked)
            };
            ::core::result::Result::Ok(::es_entity::__private::created(__checked, __done.now)?)
        }
    }
}
