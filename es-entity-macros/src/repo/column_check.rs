//! `check_column_types` and what every write reads once per process before
//! its first statement: the index table's column types, for the types sqlx
//! cannot check at compile time, and both tables' constraints, which
//! classify the write's errors.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::bind::Check;
use crate::model::repo::Repo;
use crate::sql;

pub(super) fn expand(repo: &Repo) -> TokenStream {
    let Repo { pool, names, .. } = repo;
    let declared: Vec<_> = std::iter::once((quote!(id), &repo.id_ty, repo.id_check))
        .chain(repo.columns.iter().map(|c| {
            let name = &c.name;
            (quote!(#name), &c.ty, c.check)
        }))
        .filter(|(_, _, check)| *check == Check::FirstUse)
        .map(|(name, ty, _)| {
            let column = name.to_string();
            let rust_type = type_text(ty);
            quote! {
                ::es_entity::__private::DeclaredColumn {
                    column: #column,
                    rust_type: #rust_type,
                    fits: ::es_entity::__private::fits::<#ty>,
                },
            }
        })
        .collect();
    let entity = &names.entity;
    let table = &repo.tables.index;
    let check = if declared.is_empty() {
        TokenStream::new()
    } else {
        let sql = sql::column_types(repo);
        quote! {
            let __columns: ::std::vec::Vec<::es_entity::__private::CatalogColumn> = ::sqlx::query_as!(::es_entity::__private::CatalogColumn, #sql)
                .fetch_all(&mut *__conn)
                .await?;
            ::es_entity::__private::check_columns(#entity, #table, &[#(#declared)*], &__columns)?;
        }
    };
    let constraints = sql::constraints(repo);
    quote! {
        /// Checks the declared types of the columns sqlx cannot check at
        /// compile time (entity ids, `#[derive(sqlx::Type)]` enums and
        /// newtypes) against the index table, naming every one that does not
        /// fit. Writes run this check once per process by themselves, before
        /// their first statement; call it at start-up to fail early.
        pub async fn check_column_types(&self) -> ::core::result::Result<(), ::es_entity::ColumnTypeError> {
            let mut __conn = self.#pool.acquire().await?;
            Self::__es_catalog(&mut *__conn).await.map(|_| ())
        }

        /// What the repository reads from the catalog once per process,
        /// before its first write: the column check, then the constraints.
        #[doc(hidden)]
        async fn __es_catalog(
            __conn: &mut ::es_entity::__private::sqlx::PgConnection,
        ) -> ::core::result::Result<
            &'static ::es_entity::__private::Constraints,
            ::es_entity::ColumnTypeError,
        > {
            static __CATALOG: ::std::sync::OnceLock<::es_entity::__private::Constraints> =
                ::std::sync::OnceLock::new();
            if let ::core::option::Option::Some(__known) = __CATALOG.get() {
                return ::core::result::Result::Ok(__known);
            }
            #check
            let __constraints: ::std::vec::Vec<::es_entity::__private::CatalogConstraint> = ::sqlx::query_as!(::es_entity::__private::CatalogConstraint, #constraints)
                .fetch_all(&mut *__conn)
                .await?;
            ::core::result::Result::Ok(
                __CATALOG.get_or_init(|| ::es_entity::__private::Constraints::new(__constraints)),
            )
        }
    }
}

/// The type as the user wrote it, without the spaces tokens print with.
fn type_text(ty: &syn::Type) -> String {
    quote!(#ty)
        .to_string()
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
}
