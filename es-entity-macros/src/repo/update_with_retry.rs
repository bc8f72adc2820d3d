//! `update_with_retry`: load by id → run a command → `update`, retried on
//! lost races per a `RetryPolicy`.
//!
//! There is no `_in_op` variant: a lost race is a failed statement, which
//! aborts the caller's transaction, so the next attempt could not run in it.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::repo::Repo;

pub(super) fn expand(repo: &Repo) -> TokenStream {
    let Repo {
        entity,
        id_ty,
        names,
        ..
    } = repo;
    let col_enum = &names.column_enum;
    let doc = format!(
        "Loads the `{entity}` `id`, runs `command` on it and saves it with \
         [`Self::update`]; when another writer saved the entity in between, \
         loads it again and reruns the command, as `policy` allows.\n\n\
         The command returns `Result<T, E>`, `Idempotent<T>` or `()` (see \
         [`es_entity::CommandOutcome`]). Returns the value of the attempt whose \
         save succeeded and how many attempts ran. A command error is returned \
         at once, unsaved and unretried; load and save errors are told apart in \
         [`es_entity::UpdateWithRetryError`].",
        entity = names.entity,
    );
    let outcome = quote!(::es_entity::CommandOutcome);
    let error = quote!(::es_entity::UpdateWithRetryError);
    quote! {
        #[doc = #doc]
        pub async fn update_with_retry<__R, __F>(
            &self,
            id: impl ::std::borrow::Borrow<#id_ty>,
            policy: &::es_entity::RetryPolicy,
            mut command: __F,
        ) -> ::core::result::Result<
            ::es_entity::Retried<<__R as #outcome>::Value>,
            #error<<__R as #outcome>::Error, #col_enum>,
        >
        where
            __F: ::core::ops::FnMut(&mut #entity) -> __R,
            __R: #outcome,
        {
            let __id: &#id_ty = ::std::borrow::Borrow::<#id_ty>::borrow(&id);
            let mut __attempt: u32 = 1;
            loop {
                let __err = match self.find_by_id(__id).await {
                    ::core::result::Result::Err(e) => #error::Load(e),
                    ::core::result::Result::Ok(mut __entity) => {
                        match #outcome::into_result(command(&mut __entity)) {
                            ::core::result::Result::Err(e) => {
                                return ::core::result::Result::Err(#error::Command(e));
                            }
                            ::core::result::Result::Ok(__value) => {
                                match self.update(&mut __entity).await {
                                    ::core::result::Result::Ok(_) => {
                                        return ::core::result::Result::Ok(::es_entity::Retried {
                                            value: __value,
                                            attempts: __attempt,
                                        });
                                    }
                                    ::core::result::Result::Err(e) => #error::Save(e),
                                }
                            }
                        }
                    }
                };
                if !::es_entity::RetryPolicy::should_retry(policy, __attempt, &__err) {
                    return ::core::result::Result::Err(__err);
                }
                ::es_entity::RetryPolicy::backoff(policy, __attempt).await;
                __attempt += 1;
            }
        }
    }
}
