//! The `instrument` feature: every public async method of the repository
//! opens a `tracing` span named after it, with OpenTelemetry's database
//! fields, and records the error it returns. Without the feature the
//! methods are left as generated: no tracing code at all.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::repo::Repo;

/// `impl_block` with each `pub async fn` wrapped in a span (feature
/// `instrument`); unchanged without the feature.
pub(super) fn apply(repo: &Repo, impl_block: TokenStream) -> TokenStream {
    if !cfg!(feature = "instrument") {
        return impl_block;
    }
    let mut item: syn::ItemImpl = match syn::parse2(impl_block.clone()) {
        Ok(item) => item,
        // Generated code always parses; if it ever does not, leave it to
        // the compiler to report.
        Err(_) => return impl_block,
    };
    for member in &mut item.items {
        if let syn::ImplItem::Fn(f) = member
            && f.sig.asyncness.is_some()
            && matches!(f.vis, syn::Visibility::Public(_))
        {
            wrap(repo, f);
        }
    }
    quote!(#item)
}

fn wrap(repo: &Repo, f: &mut syn::ImplItemFn) {
    let op = f.sig.ident.to_string();
    let name = format!("es_entity.{op}");
    let table = &repo.tables.index;
    let entity = &repo.names.entity;
    let has_entity_arg = f.sig.inputs.iter().any(|arg| {
        matches!(arg, syn::FnArg::Typed(t)
            if matches!(&*t.pat, syn::Pat::Ident(p) if p.ident == "entity"))
    });
    let entity_ty = &repo.entity;
    let record_id = if has_entity_arg {
        quote! {
            __es_span.record(
                "es_entity.id",
                ::es_entity::__private::instrument::entity_id::<#entity_ty, _>(&entity),
            );
        }
    } else {
        TokenStream::new()
    };
    let body = &f.block;
    let new_body: syn::Block = syn::parse_quote!({
        let __es_span = ::es_entity::__private::tracing::info_span!(
            #name,
            "db.system.name" = "postgresql",
            "db.operation.name" = #op,
            "db.collection.name" = #table,
            "es_entity.entity" = #entity,
            "es_entity.id" = ::es_entity::__private::tracing::field::Empty,
            "error.type" = ::es_entity::__private::tracing::field::Empty,
            "otel.status_code" = ::es_entity::__private::tracing::field::Empty,
        );
        #record_id
        let __es_result = ::es_entity::__private::tracing::Instrument::instrument(
            async move #body,
            ::core::clone::Clone::clone(&__es_span),
        )
        .await;
        ::es_entity::__private::instrument::record_error(&__es_span, &__es_result);
        __es_result
    });
    f.block = new_body;
}
