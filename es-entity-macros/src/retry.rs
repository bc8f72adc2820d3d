//! `#[retry_on_concurrent_modification(max_retries = 3)]` on an async method.
//!
//! The method's body moves into a hidden `__es_retry_<name>` method; the
//! method itself runs it through `es_entity::retry_on_concurrent_modification`,
//! cloning every argument for each attempt.

use darling::{FromMeta, ast::NestedMeta};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::spanned::Spanned;

/// The attribute's arguments.
#[derive(FromMeta)]
struct RetryOpts {
    /// Retries after the first attempt (default 3).
    max_retries: Option<u32>,
    /// Also retry transient database errors (default false).
    #[darling(default)]
    transient: bool,
    /// Bound of the first backoff delay, in milliseconds (default 5).
    base_delay_ms: Option<u64>,
    /// Largest backoff bound, in milliseconds (default 500).
    max_delay_ms: Option<u64>,
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    match try_expand(args, item) {
        Ok(tokens) => tokens,
        Err(e) => e.write_errors(),
    }
}

fn try_expand(args: TokenStream, item: TokenStream) -> darling::Result<TokenStream> {
    let func: syn::ImplItemFn = syn::parse2(item)?;
    let mut errs = darling::Error::accumulator();
    // The options' errors and the method's are reported together.
    let opts = errs.handle(
        NestedMeta::parse_meta_list(args)
            .map_err(darling::Error::from)
            .and_then(|items| RetryOpts::from_list(&items)),
    );
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        errs.push(
            darling::Error::custom("only an `async fn` can be retried").with_span(&sig.fn_token),
        );
    }
    if matches!(sig.output, syn::ReturnType::Default) {
        errs.push(
            darling::Error::custom(
                "a retried fn returns `Result<T, E>` with `E: es_entity::RetryableError`",
            )
            .with_span(&sig.ident),
        );
    }
    let mut receiver_ok = false;
    let mut arg_names = Vec::new();
    for input in &sig.inputs {
        match input {
            syn::FnArg::Receiver(syn::Receiver {
                kind: syn::ReceiverKind::Reference(_, _, None),
                ..
            }) => receiver_ok = true,
            syn::FnArg::Receiver(r) => errs.push(
                darling::Error::custom(
                    "a retried method takes `&self`: each attempt borrows it again",
                )
                .with_span(&r.span()),
            ),
            syn::FnArg::Typed(pt) => match &*pt.pat {
                syn::Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
                    arg_names.push(p.ident.clone())
                }
                other => errs.push(
                    darling::Error::custom(
                        "retried arguments must be plain names (each attempt gets a clone)",
                    )
                    .with_span(&other.span()),
                ),
            },
        }
    }
    if !receiver_ok
        && !sig
            .inputs
            .iter()
            .any(|i| matches!(i, syn::FnArg::Receiver(_)))
    {
        errs.push(
            darling::Error::custom("a retried fn is a method taking `&self`").with_span(&sig.ident),
        );
    }
    errs.finish()?;
    let opts = opts.expect("checked by the accumulator");

    let max_attempts = opts.max_retries.unwrap_or(3).saturating_add(1);
    let transient = opts.transient;
    let base = opts
        .base_delay_ms
        .map(|ms| quote!(.base_delay(::core::time::Duration::from_millis(#ms))));
    let max = opts
        .max_delay_ms
        .map(|ms| quote!(.max_delay(::core::time::Duration::from_millis(#ms))));
    let name = &sig.ident;
    let inner_name = format_ident!("__es_retry_{}", name);
    let mut inner = func.clone();
    inner.sig.ident = inner_name.clone();
    inner.vis = syn::Visibility::Inherited;
    inner.attrs.retain(|a| !a.path().is_ident("doc"));
    let mut outer_sig = sig.clone();
    for input in outer_sig.inputs.iter_mut() {
        if let syn::FnArg::Typed(pt) = input
            && let syn::Pat::Ident(p) = &mut *pt.pat
        {
            p.mutability = None;
        }
    }
    let (attrs, vis) = (&func.attrs, &func.vis);
    Ok(quote! {
        #[doc(hidden)]
        #inner

        #(#attrs)*
        #vis #outer_sig {
            let __policy = ::es_entity::RetryPolicy::new(#max_attempts)
                .retry_transient(#transient)
                #base
                #max;
            ::es_entity::retry_on_concurrent_modification(&__policy, || {
                self.#inner_name(#(::core::clone::Clone::clone(&#arg_names)),*)
            })
            .await
            .map(|__done| __done.value)
        }
    })
}
