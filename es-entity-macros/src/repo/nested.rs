//! Nested entities: what a child repository (one with a `parent` column)
//! tells its parent, and, in a parent repository (`#[es_repo(nested)]`
//! fields), the children's writes in the parent's transaction and the
//! tree read that loads parents and children in one statement.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::model::nested::{Slot, slots};
use crate::model::repo::Repo;

/// Whether the repository has nested children.
pub(super) fn is_parent(repo: &Repo) -> bool {
    !repo.nested.is_empty()
}

/// Items outside the repository's `impl`: a child's `NestedRepo`, a
/// parent's `NestedNode` per child and the compile-time checks that the
/// tables its tree read names are the child repository's.
pub(super) fn items(repo: &Repo) -> TokenStream {
    let Repo {
        ident, generics, ..
    } = repo;
    let (impl_g, ty_g, where_g) = generics.split_for_impl();
    let mut out = TokenStream::new();
    if is_parent(repo) {
        out.extend(row_struct(repo));
    }
    if let Some(col) = &repo.parent_column {
        let (index, events) = (&repo.tables.index, &repo.tables.events);
        let col = col.to_string();
        let soft = repo.soft_delete;
        let nested_count = repo.nested.len();
        let pool = &repo.pool;
        out.extend(quote! {
            #[automatically_derived]
            impl #impl_g ::es_entity::NestedRepo for #ident #ty_g #where_g {
                const NESTED_COUNT: usize = #nested_count;
                fn child_pool(&self) -> &::es_entity::__private::sqlx::PgPool {
                    &self.#pool
                }
                const INDEX_TABLE: &'static str = #index;
                const EVENTS_TABLE: &'static str = #events;
                const PARENT_COLUMN: &'static str = #col;
                const SOFT_DELETE: bool = #soft;
            }
        });
    }
    for (k, child) in repo.nested.iter().enumerate() {
        let ty = &child.repo_ty;
        let field = child.field.to_string();
        let t = &child.tables;
        let (index, events, col) = (&t.index, &t.events, &t.parent_column);
        let soft = repo.soft_delete;
        let child_entity = quote!(<#ty as ::es_entity::EsRepo>::Entity);
        let tables_msg = format!(
            "#[es_repo(nested)] `{field}`: the child repository's tables are not `{index}` / `{events}`; \
             name them with `nested(tbl = \"..\", events_tbl = \"..\")`"
        );
        let column_msg = format!(
            "#[es_repo(nested)] `{field}`: the child repository's `parent` column is not `{col}`; \
             name it with `nested(parent_column = \"..\")`"
        );
        let delete_msg = if soft {
            format!(
                "#[es_repo(nested)] `{field}`: the parent soft-deletes and cascades to its children, \
                 so the child repository needs `delete = \"soft\"` too"
            )
        } else {
            format!(
                "#[es_repo(nested)] `{field}`: the child repository soft-deletes but the parent does not; \
                 give the parent `delete = \"soft\"` (deletes cascade to the children)"
            )
        };
        let declared = child.children.len();
        let names: Vec<String> = child.children.iter().map(|g| g.field.to_string()).collect();
        let count_msg = if declared == 0 {
            format!(
                "#[es_repo(nested)] `{field}`: the child repository has nested fields of its own, which the tree \
                 read loads too: name each, in order, with `nested(children(..))`"
            )
        } else {
            format!(
                "#[es_repo(nested)] `{field}`: the child repository's nested fields are not the {declared} named in \
                 `children({})`: name each of them, in order",
                names.join(", ")
            )
        };
        let grandchildren = child.children.iter().enumerate().map(|(j, g)| {
            let gname = g.field.to_string();
            let t = &g.tables;
            let (gindex, gevents, gcol) = (&t.index, &t.events, &t.parent_column);
            let tables_msg = format!(
                "#[es_repo(nested)] `{field}`: the child repository's nested field #{j} (`{gname}`) does not use \
                 the tables `{gindex}` / `{gevents}`; name them with `children({gname}(tbl = \"..\", events_tbl = \"..\"))`"
            );
            let column_msg = format!(
                "#[es_repo(nested)] `{field}`: the `parent` column of the child repository's nested field #{j} \
                 (`{gname}`) is not `{gcol}`; name it with `children({gname}(parent_column = \"..\"))`"
            );
            let depth_msg = format!(
                "#[es_repo(nested)] `{field}`: `{gname}` has nested children of its own; a tree read loads \
                 two levels below the parent, not three"
            );
            let g = quote!(<<#ty as ::es_entity::__private::NestedNode<#j>>::Repo as ::es_entity::NestedRepo>);
            quote! {
                ::core::assert!(
                    ::es_entity::__private::nested::str_eq(#g::INDEX_TABLE, #gindex)
                        && ::es_entity::__private::nested::str_eq(#g::EVENTS_TABLE, #gevents),
                    #tables_msg
                );
                ::core::assert!(
                    ::es_entity::__private::nested::str_eq(#g::PARENT_COLUMN, #gcol),
                    #column_msg
                );
                ::core::assert!(#g::NESTED_COUNT == 0, #depth_msg);
            }
        });
        // Spanned at the field's type: a child repository without a
        // `parent` column is reported there.
        let bound = quote_spanned! {ty.span()=>
            <#ty as ::es_entity::NestedRepo>
        };
        // Spanned at the field: a failed check is reported there.
        let checks = quote_spanned! {child.field.span()=>
            const _: () = {
                ::core::assert!(
                    ::es_entity::__private::nested::str_eq(#bound::INDEX_TABLE, #index)
                        && ::es_entity::__private::nested::str_eq(#bound::EVENTS_TABLE, #events),
                    #tables_msg
                );
                ::core::assert!(
                    ::es_entity::__private::nested::str_eq(#bound::PARENT_COLUMN, #col),
                    #column_msg
                );
                ::core::assert!(#bound::SOFT_DELETE == #soft, #delete_msg);
                ::core::assert!(#bound::NESTED_COUNT == #declared, #count_msg);
                #(#grandchildren)*
            };
        };
        out.extend(quote! {
            #[automatically_derived]
            impl #impl_g ::es_entity::__private::NestedNode<#k> for #ident #ty_g #where_g {
                type Repo = #ty;
                type Id = <<#child_entity as ::es_entity::EsEntity>::Event as ::es_entity::EsEvent>::EntityId;
                type Event = ::es_entity::ParsedEvent<<#child_entity as ::es_entity::EsEntity>::Event>;
            }

            #checks
        });
    }
    out
}

/// Whether `var` (a `&Entity`) has anything for its nested children's
/// writes: a staged child, or a stored one with changes, grandchildren included.
pub(super) fn nested_changes(var: &TokenStream) -> TokenStream {
    quote!(::es_entity::EsEntity::nested_changed(#var))
}

/// The private method writing the nested children of a slice of parents:
/// per child repository at most one `update_all` (the stored children with
/// new events of every parent) and one `create_all` (the staged ones).
pub(super) fn methods(repo: &Repo) -> TokenStream {
    if !is_parent(repo) {
        return TokenStream::new();
    }
    let entity = &repo.entity;
    let steps = repo.nested.iter().map(|c| {
        let ty = &c.repo_ty;
        let field = &c.field;
        let name = field.to_string();
        let child = quote!(<#ty as ::es_entity::EsRepo>::Entity);
        quote! {
            {
                let (mut __batch, __counts) =
                    ::es_entity::__private::nested::take_changed::<#entity, #child>(__parents);
                let __result = if __batch.is_empty() {
                    ::core::result::Result::Ok(0)
                } else {
                    self.#field.update_all_in_op(&mut *op, &mut __batch).await
                };
                ::es_entity::__private::nested::give_back::<#entity, #child>(__parents, &__counts, __batch);
                __written += __result.map_err(|e| ::es_entity::NestedError::from_modify(#name, e))?;
                let (__new, __counts) =
                    ::es_entity::__private::nested::take_new::<#entity, #child>(__parents);
                if !__new.is_empty() {
                    let __created = self
                        .#field
                        .create_all_in_op(&mut *op, __new)
                        .await
                        .map_err(|e| ::es_entity::NestedError::from_create(#name, e))?;
                    for __c in &__created {
                        __written += ::es_entity::EsEntity::events(__c).len_persisted()
                            + ::es_entity::EsEntity::nested_events_persisted(__c);
                    }
                    ::es_entity::__private::nested::give_created::<#entity, #child>(
                        __parents, &__counts, __created,
                    );
                }
            }
        }
    });
    quote! {
        #[doc(hidden)]
        async fn __es_persist_nested<__Op: ::es_entity::AtomicOperation>(
            &self,
            op: &mut __Op,
            __parents: &mut [#entity],
        ) -> ::core::result::Result<usize, ::es_entity::NestedError> {
            let mut __written = 0usize;
            #(#steps)*
            ::core::result::Result::Ok(__written)
        }
    }
}

/// `create` / `create_in_op` (`all`: `create_all` / `create_all_in_op`)
/// bodies of a parent: the parents' statement, then their children's, in
/// one transaction.
pub(super) fn create_bodies(repo: &Repo, all: bool) -> (TokenStream, TokenStream) {
    let pool = &repo.pool;
    let (in_op, writer, parents) = if all {
        (
            format_ident!("create_all_in_op"),
            format_ident!("__es_create_all"),
            quote!(&mut __created),
        )
    } else {
        (
            format_ident!("create_in_op"),
            format_ident!("__es_create"),
            quote!(::core::slice::from_mut(&mut __created)),
        )
    };
    let write = super::shared::in_transaction(
        quote!(self.#in_op(&mut __op, new)),
        super::shared::nothing_to_undo(),
    );
    (
        quote! {
            let mut __conn = self.#pool.acquire().await?;
            #write
        },
        quote! {
            let __now = ::es_entity::AtomicOperation::maybe_now(op);
            let mut __created =
                Self::#writer(::es_entity::AtomicOperation::as_executor(op), __now, new).await?;
            self.__es_persist_nested(op, #parents)
                .await
                .map_err(|e| ::es_entity::CreateError::Nested(::std::boxed::Box::new(e)))?;
            ::core::result::Result::Ok(__created)
        },
    )
}

/// `update` / `update_in_op` of a parent. Without changes to children,
/// `update` is the plain one-statement write; with some, the parent's
/// statement (if it has new events) and the children's run in one transaction.
pub(super) fn update(repo: &Repo) -> TokenStream {
    let Repo {
        pool,
        entity,
        names,
        ..
    } = repo;
    let err = &names.modify_error;
    let var = quote!(&*entity);
    let changes = nested_changes(&var);
    let write = super::shared::in_transaction(
        quote!(self.update_in_op(&mut __op, entity)),
        super::shared::nothing_to_undo(),
    );
    quote! {
        /// Appends the entity's new events and refreshes its index row in one
        /// statement, and writes its nested children: at most one `update_all`
        /// and one `create_all` per child repository, all in one transaction.
        /// Returns how many events were written (the children's included);
        /// with none, no SQL runs. After an error, reload the entity.
        pub async fn update(
            &self,
            entity: &mut #entity,
        ) -> ::core::result::Result<usize, #err> {
            let __nested = #changes;
            if !__nested {
                if !::es_entity::EsEntity::events(entity).any_new() {
                    return ::core::result::Result::Ok(0);
                }
                let mut __conn = self.#pool.acquire().await?;
                let __result = Self::__es_update(&mut *__conn, ::core::option::Option::None, entity).await;
                return Self::__es_with_actual_version(&mut *__conn, __result).await;
            }
            let mut __conn = self.#pool.acquire().await?;
            #write
        }

        /// [`Self::update`] inside the caller's transaction.
        pub async fn update_in_op<__Op: ::es_entity::AtomicOperation>(
            &self,
            op: &mut __Op,
            entity: &mut #entity,
        ) -> ::core::result::Result<usize, #err> {
            let mut __written = 0usize;
            if ::es_entity::EsEntity::events(entity).any_new() {
                let __now = ::es_entity::AtomicOperation::maybe_now(op);
                __written +=
                    Self::__es_update(::es_entity::AtomicOperation::as_executor(op), __now, entity)
                        .await?;
            }
            if #changes {
                __written += self
                    .__es_persist_nested(op, ::core::slice::from_mut(entity))
                    .await
                    .map_err(|e| ::es_entity::ModifyError::Nested(::std::boxed::Box::new(e)))?;
            }
            ::core::result::Result::Ok(__written)
        }
    }
}

/// `update_all` / `update_all_in_op` of a parent: one statement for the
/// parents with new events, then per child repository at most one
/// `update_all` and one `create_all` for the children of every parent.
pub(super) fn update_all(repo: &Repo) -> TokenStream {
    let Repo {
        pool,
        entity,
        names,
        ..
    } = repo;
    let err = &names.modify_error;
    let var = quote!(__e);
    let changes = nested_changes(&var);
    let write = super::shared::in_transaction(
        quote!(self.update_all_in_op(&mut __op, entities)),
        super::shared::nothing_to_undo(),
    );
    quote! {
        /// Writes the new events of every entity that has some, and refreshes
        /// their index rows, in one statement; then their nested children,
        /// batched: at most one `update_all` and one `create_all` per child
        /// repository whatever the number of parents and children, all in one
        /// transaction. Returns how many events were written (the children's
        /// included). After an error, reload the entities.
        pub async fn update_all(
            &self,
            entities: &mut [#entity],
        ) -> ::core::result::Result<usize, #err> {
            let __nested = entities.iter().any(|__e| #changes);
            if !__nested {
                if !entities.iter().any(|e| ::es_entity::EsEntity::events(e).any_new()) {
                    return ::core::result::Result::Ok(0);
                }
                let mut __conn = self.#pool.acquire().await?;
                let __result =
                    Self::__es_update_all(&mut *__conn, ::core::option::Option::None, entities).await;
                return Self::__es_with_actual_version(&mut *__conn, __result).await;
            }
            let mut __conn = self.#pool.acquire().await?;
            #write
        }

        /// [`Self::update_all`] inside the caller's transaction.
        pub async fn update_all_in_op<__Op: ::es_entity::AtomicOperation>(
            &self,
            op: &mut __Op,
            entities: &mut [#entity],
        ) -> ::core::result::Result<usize, #err> {
            let mut __written = 0usize;
            if entities.iter().any(|e| ::es_entity::EsEntity::events(e).any_new()) {
                let __now = ::es_entity::AtomicOperation::maybe_now(op);
                __written += Self::__es_update_all(
                    ::es_entity::AtomicOperation::as_executor(op),
                    __now,
                    entities,
                )
                .await?;
            }
            if entities.iter().any(|__e| #changes) {
                __written += self
                    .__es_persist_nested(op, entities)
                    .await
                    .map_err(|e| ::es_entity::ModifyError::Nested(::std::boxed::Box::new(e)))?;
            }
            ::core::result::Result::Ok(__written)
        }
    }
}

/// The row type of a parent's tree reads (`query_as!` target: in a
/// `query!` record `Self` would not name the repository).
fn row_ident(repo: &Repo) -> syn::Ident {
    format_ident!("__{}TreeRow", repo.ident)
}

fn row_struct(repo: &Repo) -> TokenStream {
    let ident = &repo.ident;
    let row = row_ident(repo);
    let slots = slots(&repo.nested);
    let ids = slots.iter().map(|sl| {
        let f = format_ident!("{}_id", sl.name);
        let node = node_ty(repo, sl);
        quote!(#f: ::core::option::Option<<#node>::Id>,)
    });
    let evs = slots.iter().map(|sl| {
        let f = format_ident!("{}_ev", sl.name);
        let node = node_ty(repo, sl);
        quote!(#f: ::core::option::Option<<#node>::Event>,)
    });
    quote! {
        #[doc(hidden)]
        #[allow(dead_code, non_camel_case_types)]
        struct #row {
            node: i32,
            ord: i64,
            p_id: <#ident as ::es_entity::__private::RepoRow>::Id,
            #(#ids)*
            sequence: i32,
            event_type: ::std::string::String,
            context: ::core::option::Option<::es_entity::__private::serde_json::Value>,
            recorded_at: ::es_entity::__private::chrono::DateTime<::es_entity::__private::chrono::Utc>,
            ev: ::core::option::Option<<#ident as ::es_entity::__private::RepoRow>::Event>,
            #(#evs)*
        }
    }
}

/// `Repo as NestedNode<k>` for a child, `ChildRepo as NestedNode<j>` for a grandchild.
fn node_ty(repo: &Repo, sl: &Slot<'_>) -> TokenStream {
    let ident = &repo.ident;
    let k = sl.child;
    match sl.grandchild {
        None => quote!(#ident as ::es_entity::__private::NestedNode<#k>),
        Some(j) => {
            let child = &repo.nested[k].repo_ty;
            quote!(#child as ::es_entity::__private::NestedNode<#j>)
        }
    }
}

/// The entity type of a slot's node.
fn node_entity(repo: &Repo, sl: &Slot<'_>) -> TokenStream {
    let node = node_ty(repo, sl);
    quote!(<<#node>::Repo as ::es_entity::EsRepo>::Entity)
}

/// The tree read's statement call: declares the parents' rows `__p` (as
/// `Row<Entity>`) and one `Vec<(parent id, Row<Child>)>` per nested field,
/// `__n0`, `__n1`, ...
pub(super) fn fetch_tree(
    repo: &Repo,
    executor: TokenStream,
    sql: &str,
    args: TokenStream,
) -> TokenStream {
    let row = row_ident(repo);
    let split = split_tree(repo);
    quote! {
        let __tree = #executor
            .fetch_all(::sqlx::query_as!(#row, #sql, #args))
            .await?;
        #split
    }
}

/// The `query_as!` of one tree statement, evaluating to its rows.
pub(super) fn query_tree(repo: &Repo, sql: &str, args: TokenStream) -> TokenStream {
    let row = row_ident(repo);
    quote!(::sqlx::query_as!(#row, #sql, #args))
}

/// Splits the rows `__tree` of a tree read into `__p` and one list per
/// slot, `__n0`, `__n0_1`, ...: `(owner id, Row<Node>)` where the owner is
/// the parent for a child, the child for a grandchild.
pub(super) fn split_tree(repo: &Repo) -> TokenStream {
    let slots = slots(&repo.nested);
    let lists: Vec<_> = slots
        .iter()
        .map(|sl| format_ident!("__{}", sl.name))
        .collect();
    let arms = slots.iter().zip(&lists).map(|(sl, list)| {
        let node = sl.node;
        let id = format_ident!("{}_id", sl.name);
        let ev = format_ident!("{}_ev", sl.name);
        let owner = match sl.grandchild {
            None => quote!(::core::option::Option::Some(__r.p_id)),
            Some(_) => {
                let child_id = format_ident!("n{}_id", sl.child);
                quote!(__r.#child_id)
            }
        };
        quote! {
            #node => {
                if let (::core::option::Option::Some(__owner), ::core::option::Option::Some(__id)) =
                    (#owner, __r.#id)
                {
                    #list.push((
                        __owner,
                        ::es_entity::GenericEvent {
                            entity_id: __id,
                            sequence: __r.sequence,
                            event_type: __r.event_type,
                            event: ::es_entity::ParsedEvent::or_null(__r.#ev),
                            context: __r.context,
                            recorded_at: __r.recorded_at,
                        },
                    ));
                }
            }
        }
    });
    quote! {
        let mut __p = ::std::vec::Vec::new();
        #(let mut #lists = ::std::vec::Vec::new();)*
        for __r in __tree {
            match __r.node {
                0 => __p.push(::es_entity::GenericEvent {
                    entity_id: __r.p_id,
                    sequence: __r.sequence,
                    event_type: __r.event_type,
                    event: ::es_entity::ParsedEvent::or_null(__r.ev),
                    context: __r.context,
                    recorded_at: __r.recorded_at,
                }),
                #(#arms)*
                _ => {}
            }
        }
    }
}

/// The slot lists of [`split_tree`] as one tuple, `(__n0, __n0_1, ...)`.
pub(super) fn children_tuple(repo: &Repo) -> TokenStream {
    let lists = slots(&repo.nested)
        .into_iter()
        .map(|sl| format_ident!("__{}", sl.name));
    quote!((#(#lists,)*))
}

/// A listing's page from `__rows` (the parents' rows and [`children_tuple`]).
pub(super) fn page(repo: &Repo, cursor: &TokenStream) -> TokenStream {
    let entity = &repo.entity;
    let tuple = children_tuple(repo);
    let attach = attach(repo, quote!(&mut __ret.entities));
    quote! {{
        let (__p, #tuple) = __rows;
        let mut __ret = ::es_entity::__private::page::<#entity, #cursor>(__p, args.first)?;
        #attach
        __ret
    }}
}

/// Hands the children fetched by [`fetch_tree`] to `parents` (a `&mut
/// [Entity]`), each child with its own children (the grandchildren) first.
pub(super) fn attach(repo: &Repo, parents: TokenStream) -> TokenStream {
    let entity = &repo.entity;
    let slots = slots(&repo.nested);
    let steps = slots.iter().filter(|sl| sl.grandchild.is_none()).map(|sl| {
        let child = node_entity(repo, sl);
        let list = format_ident!("__{}", sl.name);
        let grand: Vec<_> = slots
            .iter()
            .filter(|g| g.grandchild.is_some() && g.child == sl.child)
            .collect();
        if grand.is_empty() {
            return quote! {
                ::es_entity::__private::nested::attach::<#entity, #child>(#parents, #list)?;
            };
        }
        let adopt = grand.iter().map(|g| {
            let gentity = node_entity(repo, g);
            let glist = format_ident!("__{}", g.name);
            quote! {
                ::es_entity::__private::nested::attach::<#child, #gentity>(&mut __children, #glist)?;
            }
        });
        quote! {
            {
                let (__owners, mut __children) =
                    ::es_entity::__private::nested::hydrate::<#entity, #child>(#list)?;
                #(#adopt)*
                ::es_entity::__private::nested::adopt::<#entity, #child>(#parents, __owners, __children);
            }
        }
    });
    quote!(#(#steps)*)
}

/// A page of the rows `__rows`: of a tree read for a parent of nested children.
pub(super) fn page_of(repo: &Repo, cursor: &TokenStream) -> TokenStream {
    let entity = &repo.entity;
    if is_parent(repo) {
        page(repo, cursor)
    } else {
        quote!(::es_entity::__private::page::<#entity, #cursor>(__rows, args.first)?)
    }
}

/// The names of the version-aware writes (`update_expecting`,
/// `update_unchecked`, their batch forms): for a parent of nested children
/// the families generate them as private `__es_own_*` methods writing the
/// parent's own statement, and [`versioned`] generates the public ones
/// around them; otherwise as they are.
pub(super) struct OwnWrites {
    parent: bool,
}

impl OwnWrites {
    pub(super) fn of(repo: &Repo) -> Self {
        Self {
            parent: is_parent(repo),
        }
    }

    pub(super) fn name(&self, public: &str) -> syn::Ident {
        if self.parent {
            format_ident!("__es_own_{}", public)
        } else {
            format_ident!("{}", public)
        }
    }

    pub(super) fn vis(&self) -> TokenStream {
        if self.parent {
            quote!(#[doc(hidden)])
        } else {
            quote!(pub)
        }
    }
}

/// A parent's `update_expecting`, `update_unchecked`, `update_all_expecting`
/// and `update_all_unchecked` (with their `_in_op` forms): the parent's own
/// statement as for any repository, its nested children kept out of the
/// entity meanwhile (an unchecked write's refresh rebuilds the parent from
/// its events alone), then the children written as `update` writes them,
/// in the same transaction.
pub(super) fn versioned(repo: &Repo) -> TokenStream {
    if !is_parent(repo) {
        return TokenStream::new();
    }
    let Repo { entity, names, .. } = repo;
    let err = &names.modify_error;
    let unchecked_err = &names.unchecked_modify_error;
    let expected_v = quote!(__V: ::core::convert::Into<::es_entity::ExpectedVersion>);
    let one = quote!(entity: &mut #entity);
    let all = quote!(entities: &mut [#entity]);
    let expecting = Versioned {
        name: "update_expecting",
        batch: false,
        generics: TokenStream::new(),
        params: quote!(#one, expected: ::es_entity::ExpectedVersion),
        args: quote!(entity, expected),
        ok: quote!(usize),
        err: quote!(#err),
        checked: true,
        doc: "[`Self::update`] with an expectation of the parent's stream (see \
              [`es_entity::ExpectedVersion`]): the parent's statement checks it as for any \
              repository; its nested children are written as `update` writes them (each \
              child's own version checked), in the same transaction. With only children \
              changed, an `Exact` expectation is compared with the version the parent was \
              loaded at.",
    };
    let unchecked = Versioned {
        name: "update_unchecked",
        batch: false,
        generics: TokenStream::new(),
        params: one.clone(),
        args: quote!(entity),
        ok: quote!(::es_entity::UncheckedWrite),
        err: quote!(#unchecked_err),
        checked: false,
        doc: "[`Self::update`] appending the parent's new events after whatever its stream \
              holds (see `update_unchecked` in the book's \"Versions\" chapter); its nested \
              children are written as `update` writes them (each child's own version \
              checked), in the same transaction, and kept in the entity if it is rebuilt.",
    };
    let all_expecting = Versioned {
        name: "update_all_expecting",
        batch: true,
        generics: expected_v.clone(),
        params: quote!(#all, expected: impl ::core::ops::FnMut(&#entity) -> __V),
        args: quote!(entities, expected),
        ok: quote!(usize),
        err: quote!(#err),
        checked: true,
        doc: "[`Self::update_all`] where each parent states what it expects of its stream, as \
              for any repository; the nested children of every parent are then written as \
              `update_all` writes them, batched, in the same transaction.",
    };
    let all_unchecked = Versioned {
        name: "update_all_unchecked",
        batch: true,
        generics: TokenStream::new(),
        params: all.clone(),
        args: quote!(entities),
        ok: quote!(::es_entity::UncheckedWrite),
        err: quote!(#unchecked_err),
        checked: false,
        doc: "[`Self::update_unchecked`] for a batch of parents; their nested children are \
              written as `update_all` writes them, batched, in the same transaction.",
    };
    [expecting, unchecked, all_expecting, all_unchecked]
        .iter()
        .map(|v| v.expand(repo))
        .collect()
}

/// One of [`versioned`]'s pairs of methods.
struct Versioned {
    name: &'static str,
    /// Over `entities: &mut [Entity]` rather than `entity: &mut Entity`.
    batch: bool,
    /// Generic parameters besides `__Op`.
    generics: TokenStream,
    params: TokenStream,
    args: TokenStream,
    ok: TokenStream,
    err: TokenStream,
    /// Returns a count (`usize`) and fills in a lost race's actual version,
    /// rather than an `UncheckedWrite`.
    checked: bool,
    doc: &'static str,
}

impl Versioned {
    fn expand(&self, repo: &Repo) -> TokenStream {
        let Repo { pool, entity, .. } = repo;
        let Versioned {
            generics,
            params,
            args,
            ok,
            err,
            doc,
            ..
        } = self;
        let name = format_ident!("{}", self.name);
        let in_op = format_ident!("{}_in_op", self.name);
        let own = format_ident!("__es_own_{}", self.name);
        let own_in_op = format_ident!("__es_own_{}_in_op", self.name);
        let (slice, changed) = if self.batch {
            (
                quote!(&mut *entities),
                quote!(
                    entities
                        .iter()
                        .any(|__e| ::es_entity::EsEntity::nested_changed(__e))
                ),
            )
        } else {
            (
                quote!(::core::slice::from_mut(&mut *entity)),
                quote!(::es_entity::EsEntity::nested_changed(&*entity)),
            )
        };
        let (mut take, mut put) = (TokenStream::new(), TokenStream::new());
        for (k, c) in repo.nested.iter().enumerate() {
            let ty = &c.repo_ty;
            let child = quote!(<#ty as ::es_entity::EsRepo>::Entity);
            let kept = format_ident!("__kept{}", k);
            take.extend(quote! {
                let #kept = ::es_entity::__private::nested::keep::<#entity, #child>(#slice);
            });
            put.extend(quote! {
                ::es_entity::__private::nested::restore::<#entity, #child>(#slice, #kept);
            });
        }
        let tx = super::shared::in_transaction(
            quote!(self.#in_op(&mut __op, #args)),
            super::shared::nothing_to_undo(),
        );
        let in_tx = if self.checked {
            quote! {
                let __result = #tx;
                return Self::__es_with_actual_version(&mut *__conn, __result).await;
            }
        } else {
            quote!(return #tx;)
        };
        let (error_path, written) = if self.checked {
            (quote!(::es_entity::ModifyError), quote!(__done))
        } else {
            (
                quote!(::es_entity::UncheckedModifyError),
                quote!(__done.written),
            )
        };
        let in_op_generics = quote!(__Op: ::es_entity::AtomicOperation, #generics);
        let in_op_doc = format!("[`Self::{}`] inside the caller's transaction.", self.name);
        quote! {
            #[doc = #doc]
            pub async fn #name<#generics>(
                &self,
                #params,
            ) -> ::core::result::Result<#ok, #err> {
                if #changed {
                    let mut __conn = self.#pool.acquire().await?;
                    #in_tx
                }
                #take
                let __result = self.#own(#args).await;
                #put
                __result
            }

            #[doc = #in_op_doc]
            pub async fn #in_op<#in_op_generics>(
                &self,
                op: &mut __Op,
                #params,
            ) -> ::core::result::Result<#ok, #err> {
                #take
                let __result = self.#own_in_op(op, #args).await;
                #put
                let mut __done = __result?;
                if #changed {
                    #written += self
                        .__es_persist_nested(op, #slice)
                        .await
                        .map_err(|e| #error_path::Nested(::std::boxed::Box::new(e)))?;
                }
                ::core::result::Result::Ok(__done)
            }
        }
    }
}
