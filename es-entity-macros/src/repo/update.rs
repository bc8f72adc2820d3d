//! `update`, `update_in_op`.

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
    let write = writer(repo, &name, &sql::update(repo));
    quote! {
        /// Appends the entity's new events and refreshes its index row in one
        /// statement. Returns how many events were written; with none, no SQL runs.
        pub async fn update(
            &self,
            entity: &mut #entity,
        ) -> ::core::result::Result<usize, #err> {
            if !::es_entity::EsEntity::events(entity).any_new() {
                return ::core::result::Result::Ok(0);
            }
            let mut __conn = self.#pool.acquire().await?;
            Self::#name(&mut *__conn, ::core::option::Option::None, entity).await
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
            Self::#name(::es_entity::AtomicOperation::as_executor(op), __now, entity).await
        }

        #write
    }
}

/// The private `fn(conn, now, &mut entity) -> Result<usize, ModifyError>` that
/// runs `sql` (update's shape: `$1` id, `$2` time, updated columns, event arrays),
/// detects a vanished row and a lost race, and marks the events persisted.
pub(super) fn writer(repo: &Repo, name: &syn::Ident, sql: &str) -> TokenStream {
    let Repo {
        entity,
        id_ty,
        names,
        tables,
        ..
    } = repo;
    let err = &names.modify_error;
    let col_enum = &names.column_enum;
    let events_tbl = &tables.events;
    let time_ty = super::time_ty();
    let var = format_ident!("entity");
    let batch = format_ident!("__batch");
    let (locals, args): (Vec<_>, Vec<_>) = repo
        .columns
        .iter()
        .filter_map(|c| c.update.as_ref().map(|acc| (c, acc)))
        .enumerate()
        .map(|(i, (c, acc))| {
            let local = format_ident!("__c{}", i);
            let held = format_ident!("__t{}", i);
            let ty = &c.ty;
            let read = acc.read(&var, &c.name);
            (
                // `let x = &(expr);` keeps an accessor's temporary alive for the statement.
                quote! {
                    let #held = &(#read);
                    let #local: &#ty = ::std::borrow::Borrow::<#ty>::borrow(#held);
                },
                quote!(#local as &#ty),
            )
        })
        .unzip();
    let event_args = super::event_args(&batch);
    quote! {
        #[doc(hidden)]
        async fn #name(
            __conn: &mut ::es_entity::__private::sqlx::PgConnection,
            __now: #time_ty,
            #var: &mut #entity,
        ) -> ::core::result::Result<usize, #err> {
            let __row = {
                let __events = ::es_entity::EsEntity::events(&*#var);
                let __id = __events.id();
                let __expected = __events.len_persisted() + 1;
                let #var: &#entity = &*#var;
                #(#locals)*
                let #batch = ::es_entity::__private::EventBatch::new(__events);
                let __row = ::sqlx::query!(
                    #sql,
                    __id as &#id_ty,
                    __now as #time_ty,
                    #(#args,)*
                    #event_args
                )
                .fetch_one(&mut *__conn)
                .await
                .map_err(|e| {
                    ::es_entity::__private::modify_error::<#col_enum>(e, #events_tbl, __id, __expected)
                })?;
                if __row.found == 0 {
                    return ::core::result::Result::Err(::es_entity::ModifyError::EntityNotFound {
                        entity_id: ::core::clone::Clone::clone(__id),
                    });
                }
                __row.now
            };
            ::core::result::Result::Ok(
                ::es_entity::EsEntity::events_mut(#var).mark_new_events_persisted_at(__row),
            )
        }
    }
}
