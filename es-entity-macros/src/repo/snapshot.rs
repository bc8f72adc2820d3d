//! `#[es_repo(snapshot)]`: the pieces the read and write families add for a
//! snapshot repository (the statements are in `sql::snapshot`), and the
//! checks that the entity and the repository agree.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::repo::Repo;

/// The row type of the repository's reads.
pub(super) fn row_ty(repo: &Repo) -> TokenStream {
    if repo.snapshot.is_some() {
        quote!(::es_entity::__private::SnapshotRow)
    } else {
        quote!(::es_entity::GenericEvent)
    }
}

/// The snapshot version a read binds after its own parameters, as
/// `, <expr>`; nothing without snapshots.
pub(super) fn version_arg(repo: &Repo) -> TokenStream {
    let entity = &repo.entity;
    if repo.snapshot.is_some() {
        quote!(, ::es_entity::__private::snapshot::version::<#entity>())
    } else {
        TokenStream::new()
    }
}

/// [`version_arg`] as `<expr>,`, for the end of a list of `arg,`s.
pub(super) fn version_arg_last(repo: &Repo) -> TokenStream {
    let entity = &repo.entity;
    if repo.snapshot.is_some() {
        quote!(::es_entity::__private::snapshot::version::<#entity>(),)
    } else {
        TokenStream::new()
    }
}

/// `update`'s snapshot: `let __snap = ...;` before the statement (the
/// entity is `var`), and the parameters it binds after the event arrays
/// (`, seq, version, snapshot, first`); nothing without snapshots.
pub(super) fn update_args(repo: &Repo, var: &syn::Ident) -> (TokenStream, TokenStream) {
    let entity = &repo.entity;
    if repo.snapshot.is_none() {
        return (TokenStream::new(), TokenStream::new());
    }
    (
        quote! {
            let __snap = ::es_entity::__private::snapshot::capture::<#entity>(#var)?;
        },
        quote! {
            , __snap.sequence as ::core::option::Option<i32>,
            ::es_entity::__private::snapshot::version::<#entity>(),
            __snap.snapshot as _,
            __snap.first_at as ::core::option::Option<::es_entity::__private::chrono::DateTime<::es_entity::__private::chrono::Utc>>
        },
    )
}

/// After `update`'s statement: the snapshot it stored is the latest.
pub(super) fn update_written(repo: &Repo, var: &syn::Ident) -> TokenStream {
    if repo.snapshot.is_none() {
        return TokenStream::new();
    }
    quote! {
        ::es_entity::__private::snapshot::written(::es_entity::EsEntity::events_mut(#var), __snap_seq);
    }
}

/// `update_all`'s snapshots: the collector declared before the loop over
/// the written entities, the push for each (`var`, position `pos` from 1),
/// and the parameters after the bulk event arrays.
pub(super) fn update_all_args(
    repo: &Repo,
    var: &syn::Ident,
    pos: &TokenStream,
) -> (TokenStream, TokenStream, TokenStream) {
    let entity = &repo.entity;
    if repo.snapshot.is_none() {
        return (TokenStream::new(), TokenStream::new(), TokenStream::new());
    }
    (
        quote!(let mut __snaps = ::es_entity::__private::snapshot::BulkSnapshots::default();),
        quote!(__snaps.push::<#entity>(#pos, #var)?;),
        quote! {
            , &__snaps.entities[..] as &[i32],
            &__snaps.sequences[..] as &[i32],
            &__snaps.snapshots as _,
            &__snaps.first_at as _,
            ::es_entity::__private::snapshot::version::<#entity>()
        },
    )
}

/// After `update_all`'s statement, before the events are marked stored:
/// each snapshot stored is its entity's latest.
pub(super) fn update_all_written(repo: &Repo, var: &syn::Ident) -> TokenStream {
    if repo.snapshot.is_none() {
        return TokenStream::new();
    }
    quote! {
        let mut __pos = 0usize;
        for #var in __entities.iter_mut() {
            if ::es_entity::EsEntity::events(#var).any_new() {
                __pos += 1;
                __snaps.written(__pos, ::es_entity::EsEntity::events_mut(#var));
            }
        }
    }
}

/// `impl ReadsRow<row> for Repo`: the form `es_query!` must take in it.
/// Without snapshots, also the check that the entity does not implement
/// `HeadSnapshot` (see `es_entity::__private::snapshot::probe`).
pub(super) fn reads_row(repo: &Repo) -> TokenStream {
    let Repo {
        ident,
        generics,
        entity,
        ..
    } = repo;
    let (impl_g, ty_g, where_g) = generics.split_for_impl();
    let agree = if repo.snapshot.is_none() {
        let probe = quote!(::es_entity::__private::snapshot::probe);
        quote! {
            #[automatically_derived]
            impl #impl_g #ident #ty_g #where_g {
                #[doc(hidden)]
                #[allow(dead_code)]
                fn __es_snapshot_agreement() {
                    #[allow(unused_imports)]
                    use #probe::{ViaPlain as _, ViaSnapshots as _};
                    #probe::agree((&#probe::Probe::<#entity>::NEW).kind());
                }
            }
        }
    } else {
        TokenStream::new()
    };
    let event = quote!(<#entity as ::es_entity::EsEntity>::Event);
    let id = quote!(<#event as ::es_entity::EsEvent>::EntityId);
    let row = row_ty(repo);
    quote! {
        #[automatically_derived]
        impl #impl_g ::es_entity::__private::ReadsRow<#row<#id, ::es_entity::ParsedEvent<#event>>>
            for #ident #ty_g #where_g {}
        #agree
    }
}
