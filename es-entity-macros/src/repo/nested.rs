//! Nested entities: what a child repository (one with a `parent` column)
//! tells its parent, and, in a parent repository (`#[es_repo(nested)]`
//! fields), the children's writes in the parent's transaction and the
//! tree read that loads parents and children in one statement.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

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
        let has_nested = is_parent(repo);
        out.extend(quote! {
            #[automatically_derived]
            impl #impl_g ::es_entity::NestedRepo for #ident #ty_g #where_g {
                const HAS_NESTED: bool = #has_nested;
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
        let (index, events, col) = (&child.index, &child.events, &child.parent_column);
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
        let depth_msg = format!(
            "#[es_repo(nested)] `{field}`: the child repository has nested children of its own; \
             a parent's one-statement tree read loads one level of children only (for now)"
        );
        // Spanned at the field's type: a child repository without a
        // `parent` column is reported there.
        let bound = quote_spanned! {ty.span()=>
            <#ty as ::es_entity::NestedRepo>
        };
        out.extend(quote! {
            #[automatically_derived]
            impl #impl_g ::es_entity::__private::NestedNode<#k> for #ident #ty_g #where_g {
                type Id = <<#child_entity as ::es_entity::EsEntity>::Event as ::es_entity::EsEvent>::EntityId;
                type Event = ::es_entity::ParsedEvent<<#child_entity as ::es_entity::EsEntity>::Event>;
            }

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
                ::core::assert!(!#bound::HAS_NESTED, #depth_msg);
            };
        });
    }
    out
}

/// `Option<bool>`-free test of whether `var` (a `&Entity`) has anything
/// for its nested children's writes.
pub(super) fn nested_changes(repo: &Repo, var: &TokenStream) -> TokenStream {
    let entity = &repo.entity;
    let checks = repo.nested.iter().map(|c| {
        let ty = &c.repo_ty;
        quote! {
            ::es_entity::Parent::<<#ty as ::es_entity::EsRepo>::Entity>::nested(#var).any_new()
        }
    });
    let _ = entity;
    quote!( false #(|| #checks)* )
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
                        __written += ::es_entity::EsEntity::events(__c).len_persisted();
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

/// `create` / `create_in_op` bodies of a parent: the parent's statement,
/// then its children's, in one transaction.
pub(super) fn create_bodies(repo: &Repo) -> (TokenStream, TokenStream) {
    let pool = &repo.pool;
    let write = super::shared::in_transaction(
        quote!(self.create_in_op(&mut __op, new)),
        super::shared::nothing_to_undo(),
    );
    (
        quote! {
            let mut __conn = self.#pool.acquire().await?;
            #write
        },
        quote! {
            let __now = ::es_entity::AtomicOperation::maybe_now(op);
            let mut __entity =
                Self::__es_create(::es_entity::AtomicOperation::as_executor(op), __now, new).await?;
            self.__es_persist_nested(op, ::core::slice::from_mut(&mut __entity))
                .await
                .map_err(|e| ::es_entity::CreateError::Nested(::std::boxed::Box::new(e)))?;
            ::core::result::Result::Ok(__entity)
        },
    )
}

/// `create_all` / `create_all_in_op` bodies of a parent.
pub(super) fn create_all_bodies(repo: &Repo) -> (TokenStream, TokenStream) {
    let pool = &repo.pool;
    let write = super::shared::in_transaction(
        quote!(self.create_all_in_op(&mut __op, new)),
        super::shared::nothing_to_undo(),
    );
    (
        quote! {
            let mut __conn = self.#pool.acquire().await?;
            #write
        },
        quote! {
            let __now = ::es_entity::AtomicOperation::maybe_now(op);
            let mut __entities =
                Self::__es_create_all(::es_entity::AtomicOperation::as_executor(op), __now, new)
                    .await?;
            self.__es_persist_nested(op, &mut __entities)
                .await
                .map_err(|e| ::es_entity::CreateError::Nested(::std::boxed::Box::new(e)))?;
            ::core::result::Result::Ok(__entities)
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
    let changes = nested_changes(repo, &var);
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
    let changes = nested_changes(repo, &var);
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
    let ids = (0..repo.nested.len()).map(|k| {
        let f = format_ident!("n{}_id", k);
        quote!(#f: ::core::option::Option<<#ident as ::es_entity::__private::NestedNode<#k>>::Id>,)
    });
    let evs = (0..repo.nested.len()).map(|k| {
        let f = format_ident!("n{}_ev", k);
        quote!(#f: ::core::option::Option<<#ident as ::es_entity::__private::NestedNode<#k>>::Event>,)
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

/// Splits the rows `__tree` of a tree read into `__p`, `__n0`, ...
pub(super) fn split_tree(repo: &Repo) -> TokenStream {
    let lists: Vec<_> = (0..repo.nested.len())
        .map(|k| format_ident!("__n{}", k))
        .collect();
    let ids: Vec<_> = (0..repo.nested.len())
        .map(|k| format_ident!("n{}_id", k))
        .collect();
    let evs: Vec<_> = (0..repo.nested.len())
        .map(|k| format_ident!("n{}_ev", k))
        .collect();
    let nodes: Vec<i32> = (1..=repo.nested.len() as i32).collect();
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
                #(
                    #nodes => {
                        if let ::core::option::Option::Some(__id) = __r.#ids {
                            #lists.push((
                                __r.p_id,
                                ::es_entity::GenericEvent {
                                    entity_id: __id,
                                    sequence: __r.sequence,
                                    event_type: __r.event_type,
                                    event: ::es_entity::ParsedEvent::or_null(__r.#evs),
                                    context: __r.context,
                                    recorded_at: __r.recorded_at,
                                },
                            ));
                        }
                    }
                )*
                _ => {}
            }
        }
    }
}

/// The children lists of [`split_tree`] as one tuple, `(__n0, __n1, ...)`.
pub(super) fn children_tuple(repo: &Repo) -> TokenStream {
    let lists = (0..repo.nested.len()).map(|k| format_ident!("__n{}", k));
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

/// Hands the children fetched by [`fetch_tree`] to `parents` (a `&mut [Entity]`).
pub(super) fn attach(repo: &Repo, parents: TokenStream) -> TokenStream {
    let entity = &repo.entity;
    let steps = repo.nested.iter().enumerate().map(|(k, c)| {
        let ty = &c.repo_ty;
        let list = format_ident!("__n{}", k);
        quote! {
            ::es_entity::__private::nested::attach::<#entity, <#ty as ::es_entity::EsRepo>::Entity>(
                #parents,
                #list,
            )?;
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
