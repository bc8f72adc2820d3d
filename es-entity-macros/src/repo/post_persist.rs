//! `post_persist_hook = "method"`: the private `__es_post_persist` that runs
//! the user's method, and the transaction a pool variant wraps its write
//! and the hook in. The write families (`create`, `update`, `expecting`,
//! `unchecked`, `delete`) call these only for a repository with a hook;
//! without one they generate what they always did.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;

use crate::model::repo::Repo;

/// `__es_post_persist(&self, op, entity, written)`: calls the hook with the
/// entity and its last `written` events, and boxes its error. Nothing
/// without a hook.
///
/// The call and its result carry the span of the attribute's string, so a
/// method that is missing or has another signature is reported there.
pub(super) fn expand(repo: &Repo) -> TokenStream {
    let Some(hook) = &repo.post_persist_hook else {
        return TokenStream::new();
    };
    let entity = &repo.entity;
    let name = hook.unraw().to_string();
    let span = hook.span();
    let call = quote_spanned!(span=> self.#hook(op, entity, __new_events).await);
    let outcome =
        quote_spanned!(span=> ::es_entity::__private::post_persist::post_persist(#name, __result));
    let doc = format!(
        "Runs the post-persist hook `{name}` with the entity and the \
         `written` events its write just stored, in the write's transaction."
    );
    quote! {
        #[doc = #doc]
        #[doc(hidden)]
        async fn __es_post_persist(
            &self,
            // `impl`, not a named parameter: a hook that takes one concrete
            // transaction type is then told it gets `&mut impl AtomicOperation`.
            op: &mut impl ::es_entity::AtomicOperation,
            entity: &#entity,
            written: usize,
        ) -> ::core::result::Result<(), ::es_entity::PostPersistHookError> {
            let __new_events = ::es_entity::EntityEvents::last_persisted(
                ::es_entity::EsEntity::events(entity),
                written,
            );
            let __result = #call;
            #outcome
        }
    }
}

/// A pool variant's write for a repository with a hook: begins a
/// transaction on `__conn` (a connection the caller acquired), evaluates
/// `in_op` (the `_in_op` variant's call on `&mut __op`, not yet awaited) in
/// it, and commits, or rolls back when it failed. When the commit fails,
/// `undo` (a closure over the call's value) puts the entity's events back
/// among the new ones. Evaluates to the call's result.
pub(super) fn in_transaction(in_op: TokenStream, undo: TokenStream) -> TokenStream {
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
pub(super) fn nothing_to_undo() -> TokenStream {
    quote!(|_| {})
}

/// After the statement of an `_in_op` update of `entity` (a `&mut`) that
/// wrote `written` events: runs the hook, and on its failure puts the
/// events back among the new ones and returns `err`'s `PostPersistHook`.
pub(super) fn after_update(err: TokenStream, written: TokenStream) -> TokenStream {
    quote! {
        if let ::core::result::Result::Err(__hook) =
            self.__es_post_persist(op, &*entity, #written).await
        {
            ::es_entity::__private::post_persist::unmark(entity, #written);
            return ::core::result::Result::Err(#err::PostPersistHook(__hook));
        }
    }
}
