//! `#[es_repo(in_op_only)]`: a repository whose writes and reads all run in
//! a connection the caller passes. Every public method with an `_in_op`
//! variant is left out (`create`, `find_by_id`, `list_by_*`, ...), and so
//! are the methods that only run on the pool (`update_with_retry`,
//! `feed_checkpoint_of`, the pool-only `maybe_*`); `begin_op` and
//! `check_column_types` stay.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::repo::Repo;

/// Methods kept although they have no `_in_op` variant.
const KEPT: &[&str] = &["begin_op", "check_column_types"];

pub(super) fn apply(repo: &Repo, impl_block: TokenStream) -> TokenStream {
    if !repo.in_op_only {
        return impl_block;
    }
    let Ok(mut item) = syn::parse2::<syn::ItemImpl>(impl_block.clone()) else {
        return impl_block;
    };
    let names: HashSet<String> = item
        .items
        .iter()
        .filter_map(|i| match i {
            syn::ImplItem::Fn(f) => Some(f.sig.ident.to_string()),
            _ => None,
        })
        .collect();
    item.items.retain(|i| match i {
        syn::ImplItem::Fn(f) if matches!(f.vis, syn::Visibility::Public(_)) => {
            let name = f.sig.ident.to_string();
            name.ends_with("_in_op")
                || KEPT.contains(&name.as_str())
                || (!names.contains(&format!("{name}_in_op")) && !pool_only(&name))
        }
        // A nested parent's own writes (`__es_own_update_expecting`, ...),
        // which its public ones wrap: the pool variants go with theirs.
        syn::ImplItem::Fn(f) => {
            let name = f.sig.ident.to_string();
            !name.starts_with("__es_own_")
                || name.ends_with("_in_op")
                || !names.contains(&format!("{name}_in_op"))
        }
        _ => true,
    });
    quote!(#item)
}

/// Public methods without an `_in_op` variant that use the pool.
fn pool_only(name: &str) -> bool {
    matches!(name, "update_with_retry" | "feed_checkpoint_of")
}
