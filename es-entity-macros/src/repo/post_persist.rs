//! `post_persist_hook = "method"`: the private `__es_post_persist` that runs
//! the user's method. The transaction a pool variant wraps its write and
//! the hook in is in `shared::write`; the write families (`create`,
//! `update`, `expecting`, `unchecked`, `delete`) use it only for a
//! repository with a hook, and without one generate what they always did.

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
