//! `create`, `create_in_op`.

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
    let time_ty = super::time_ty();
    let new = format_ident!("new");
    let batch = format_ident!("__batch");
    let (locals, args): (Vec<_>, Vec<_>) = repo
        .columns
        .iter()
        .filter_map(|c| c.create.as_ref().map(|acc| (c, acc)))
        .enumerate()
        .map(|(i, (c, acc))| {
            let local = format_ident!("__c{}", i);
            let ty = &c.ty;
            let read = acc.read(&new, &c.name);
            (
                quote! {
                    let #local: #ty = ::core::clone::Clone::clone(
                        ::std::borrow::Borrow::<#ty>::borrow(&(#read)),
                    );
                },
                quote!(&#local as &#ty),
            )
        })
        .unzip();
    let event_args = super::event_args(&batch);
    quote! {
        /// Persists a new entity (its index row and first events) in one statement
        /// and returns it hydrated.
        pub async fn create(
            &self,
            new: <#entity as ::es_entity::EsEntity>::New,
        ) -> ::core::result::Result<#entity, #err> {
            let mut __conn = self.#pool.acquire().await?;
            Self::__es_create(&mut *__conn, ::core::option::Option::None, new).await
        }

        /// [`Self::create`] inside the caller's transaction.
        pub async fn create_in_op<__Op: ::es_entity::AtomicOperation>(
            &self,
            op: &mut __Op,
            new: <#entity as ::es_entity::EsEntity>::New,
        ) -> ::core::result::Result<#entity, #err> {
            let __now = ::es_entity::AtomicOperation::maybe_now(op);
            Self::__es_create(::es_entity::AtomicOperation::as_executor(op), __now, new).await
        }

        #[doc(hidden)]
        async fn __es_create(
            __conn: &mut ::es_entity::__private::sqlx::PgConnection,
            __now: #time_ty,
            #new: <#entity as ::es_entity::EsEntity>::New,
        ) -> ::core::result::Result<#entity, #err> {
            #(#locals)*
            let mut __events: ::es_entity::EntityEvents<#event_ty> =
                ::es_entity::IntoEvents::into_events(#new);
            let __row = {
                let #batch = ::es_entity::__private::EventBatch::new(&__events);
                ::sqlx::query!(
                    #sql,
                    __events.id() as &#id_ty,
                    __now as #time_ty,
                    #(#args,)*
                    #event_args
                )
                .fetch_one(&mut *__conn)
                .await
                .map_err(|e| ::es_entity::__private::create_error::<#col_enum>(e, #events_tbl))?
            };
            __events.mark_new_events_persisted_at(__row.now);
            ::core::result::Result::Ok(
                <#entity as ::es_entity::TryFromEvents<#event_ty>>::try_from_events(__events)?,
            )
        }
    }
}
