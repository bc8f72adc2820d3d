//! `check_column_types` and the first-use check every write runs.

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
    let body = if declared.is_empty() {
        quote!(::core::result::Result::Ok(()))
    } else {
        let sql = sql::column_types(repo);
        quote! {
            static __CHECKED: ::es_entity::__private::Checked = ::es_entity::__private::Checked::new();
            if __CHECKED.passed() {
                return ::core::result::Result::Ok(());
            }
            let __catalog = ::sqlx::query_as!(::es_entity::__private::CatalogColumn, #sql)
                .fetch_all(&mut *__conn)
                .await?;
            ::es_entity::__private::check_columns(#entity, #table, &[#(#declared)*], &__catalog)?;
            __CHECKED.pass();
            ::core::result::Result::Ok(())
        }
    };
    quote! {
        /// Checks the declared types of the columns sqlx cannot check at
        /// compile time (entity ids, `#[derive(sqlx::Type)]` enums and
        /// newtypes) against the index table, naming every one that does not
        /// fit. Writes run this check once per process by themselves; call it
        /// at start-up to fail early.
        pub async fn check_column_types(&self) -> ::core::result::Result<(), ::es_entity::ColumnTypeError> {
            let mut __conn = self.#pool.acquire().await?;
            Self::__es_check_columns(&mut *__conn).await
        }

        #[doc(hidden)]
        #[allow(clippy::needless_return)]
        async fn __es_check_columns(
            __conn: &mut ::es_entity::__private::sqlx::PgConnection,
        ) -> ::core::result::Result<(), ::es_entity::ColumnTypeError> {
            let _ = &__conn;
            #body
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
