//! The pieces of a write: reading column values, the private statement
//! runner of `update`'s shape, and the post-persist hook's transaction.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::model::repo::Repo;

/// For each column `create` writes, in order: `let __c<i>: T = <value read
/// from `new`>;` and its statement parameter.
pub(in crate::repo) fn column_locals(
    repo: &Repo,
    new: &syn::Ident,
) -> (Vec<TokenStream>, Vec<TokenStream>) {
    repo.columns
        .iter()
        .filter_map(|c| c.create.as_ref().map(|acc| (c, acc)))
        .enumerate()
        .map(|(i, (c, acc))| {
            let local = format_ident!("__c{}", i);
            let ty = &c.ty;
            let value = super::owned(ty, &acc.read(new, &c.name));
            (
                quote!(let #local: #ty = #value;),
                super::bind(ty, c.check, &quote!(&#local)),
            )
        })
        .unzip()
}

/// The private `fn(conn, now, &mut entity) -> Result<usize, ModifyError>` that
/// runs `sql` (update's shape: `$1` id, `$2` time, one parameter per updated
/// column, event arrays), detects a vanished row and a lost race, and marks
/// the events persisted. With `snapshot` (`update` of a snapshot
/// repository) it also binds the entity's captured snapshot.
pub(in crate::repo) fn writer(
    repo: &Repo,
    name: &syn::Ident,
    sql: &str,
    snapshot: bool,
) -> TokenStream {
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
    let (locals, args) = column_args(repo, &var);
    let event_args = super::event_args(&batch);
    let id_arg = super::bind(id_ty, repo.id_check, &quote!(__id));
    let (capture, snap_args, written) = if snapshot {
        let (capture, args) = crate::repo::snapshot::update_args(repo, &var);
        let written = crate::repo::snapshot::update_written(repo, &var);
        (capture, args, written)
    } else {
        Default::default()
    };
    let (snap_decl, snap_seq) = if written.is_empty() {
        Default::default()
    } else {
        (
            quote!(let __snap_seq: ::core::option::Option<i32>;),
            quote!(__snap_seq = __snap.sequence;),
        )
    };
    quote! {
        #[doc(hidden)]
        async fn #name(
            __conn: &mut ::es_entity::__private::sqlx::PgConnection,
            __now: #time_ty,
            #var: &mut #entity,
        ) -> ::core::result::Result<usize, #err> {
            let __constraints = Self::__es_catalog(&mut *__conn).await?;
            // Outside a transaction the statement commits by itself: a
            // connection lost while it is out leaves its outcome unknown.
            let __autocommit =
                !::es_entity::__private::sqlx::Connection::is_in_transaction(&*__conn);
            #snap_decl
            let __row = {
                let __events = ::es_entity::EsEntity::events(&*#var);
                let __id = __events.id();
                let __expected = __events.len_persisted();
                let #var: &#entity = &*#var;
                #(#locals)*
                let #batch = ::es_entity::__private::EventBatch::new(
                    __events,
                    ::es_entity::__private::ReadBack::Check,
                )?;
                #capture
                let __row = ::sqlx::query!(
                    #sql,
                    #id_arg,
                    __now as #time_ty,
                    #(#args,)*
                    #event_args
                    #snap_args
                )
                .fetch_one(&mut *__conn)
                .await
                .map_err(|e| {
                    ::es_entity::__private::modify_error::<#col_enum>(e, #events_tbl, __constraints, __autocommit, __id, __expected)
                })?;
                if __row.found == 0 {
                    return ::core::result::Result::Err(::es_entity::ModifyError::EntityNotFound {
                        entity_id: ::core::clone::Clone::clone(__id),
                    });
                }
                #snap_seq
                __row.now
            };
            #written
            ::core::result::Result::Ok(
                ::es_entity::__private::EntityEventsExt::mark_new_events_persisted_at(::es_entity::EsEntity::events_mut(#var), __row),
            )
        }
    }
}

/// The updated columns of `var` as statement parameters: the `let`s that
/// read them (each kept alive for the statement) and the bound arguments.
pub(in crate::repo) fn column_args(
    repo: &Repo,
    var: &syn::Ident,
) -> (Vec<TokenStream>, Vec<TokenStream>) {
    repo.columns
        .iter()
        .filter_map(|c| c.update.as_ref().map(|acc| (c, acc)))
        .enumerate()
        .map(|(i, (c, acc))| {
            let local = format_ident!("__c{}", i);
            let held = format_ident!("__t{}", i);
            let ty = &c.ty;
            let read = acc.read(var, &c.name);
            // At the declared type: an accessor of another type is reported there.
            let borrow = quote_spanned!(ty.span()=> ::std::borrow::Borrow::<#ty>::borrow);
            (
                // `let x = &(expr);` keeps an accessor's temporary alive for the statement.
                quote! {
                    let #held = &(#read);
                    let #local: &#ty = #borrow(#held);
                },
                super::bind(ty, c.check, &quote!(#local)),
            )
        })
        .unzip()
}

/// A pool variant's write for a repository with a hook: begins a
/// transaction on `__conn` (a connection the caller acquired), evaluates
/// `in_op` (the `_in_op` variant's call on `&mut __op`, not yet awaited) in
/// it, and commits, or rolls back when it failed. When the commit fails,
/// `undo` (a closure over the call's value) puts the entity's events back
/// among the new ones. Evaluates to the call's result.
pub(in crate::repo) fn in_transaction(in_op: TokenStream, undo: TokenStream) -> TokenStream {
    quote! {
        {
            let mut __op = ::es_entity::__private::post_persist::begin_write(&mut *__conn).await?;
            let __result = #in_op.await;
            ::es_entity::__private::post_persist::finish_write(__op, __result, #undo).await
        }
    }
}

/// `undo` for a write whose entity is not the caller's any more (create,
/// delete): nothing to put back.
pub(in crate::repo) fn nothing_to_undo() -> TokenStream {
    quote!(|_| {})
}

/// After the statement of an `_in_op` update of `entity` (a `&mut`) that
/// wrote `written` events: runs the hook, and on its failure puts the
/// events back among the new ones and returns `err`'s `PostPersistHook`.
pub(in crate::repo) fn after_update(err: TokenStream, written: TokenStream) -> TokenStream {
    quote! {
        if let ::core::result::Result::Err(__hook) =
            self.__es_post_persist(op, &*entity, #written).await
        {
            ::es_entity::__private::post_persist::unmark(entity, #written);
            return ::core::result::Result::Err(#err::PostPersistHook(__hook));
        }
    }
}

/// The per-column arrays of a batch update (`update_all`, the mixed batch
/// writer): `declare` the vectors, `push` one entity's values (read from
/// `var`), `args` the statement's array parameters, the ids (`__ids`)
/// first.
pub(in crate::repo) struct ColumnArrays {
    pub declare: Vec<TokenStream>,
    pub push: Vec<TokenStream>,
    pub args: Vec<TokenStream>,
    pub ids: syn::Ident,
}

pub(in crate::repo) fn column_arrays(repo: &Repo, var: &syn::Ident) -> ColumnArrays {
    let cols: Vec<_> = repo
        .columns
        .iter()
        .filter_map(|c| c.update.as_ref().map(|a| (c, a)))
        .collect();
    // One array per column, filled in batch order.
    let arrays: Vec<_> = (0..cols.len()).map(|i| format_ident!("__v{}", i)).collect();
    let declare = cols
        .iter()
        .zip(&arrays)
        .map(|((c, _), v)| {
            let ty = &c.ty;
            quote!(let mut #v: ::std::vec::Vec<#ty> = ::std::vec::Vec::new();)
        })
        .collect();
    let push = cols
        .iter()
        .zip(&arrays)
        .map(|((c, acc), v)| {
            let value = super::owned(&c.ty, &acc.read(var, &c.name));
            quote!(#v.push(#value);)
        })
        .collect();
    let ids = format_ident!("__ids");
    let args = std::iter::once(super::bind_array(&repo.id_ty, repo.id_check, &ids))
        .chain(
            cols.iter()
                .zip(&arrays)
                .map(|((c, _), v)| super::bind_array(&c.ty, c.check, v)),
        )
        .collect();
    ColumnArrays {
        declare,
        push,
        args,
        ids,
    }
}
