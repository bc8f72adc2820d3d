//! The first-use check of column types sqlx cannot check at compile time.
//!
//! A repository binds a column of a type sqlx maps (`String`, `i32`, ...)
//! without an override, and sqlx compares it with the column at compile
//! time. Entity ids, `#[derive(sqlx::Type)]` enums and newtypes are bound
//! with `as T`, which sqlx cannot check; for those the repository reads the
//! index table's column types from the catalog once per process, before its
//! first write (with the constraints, see `classify`), and refuses to write
//! while one does not fit.

use std::collections::BTreeSet;
use std::sync::Mutex;

use sqlx::postgres::{PgTypeInfo, Postgres};
use sqlx::{Type, TypeInfo};

/// A declared column type that does not fit the index table's column.
///
/// ```
/// use es_entity::ColumnTypeMismatch;
///
/// let m = ColumnTypeMismatch {
///     entity: "Book",
///     table: "books".into(),
///     column: "status".into(),
///     rust_type: "Isbn",
///     sql_type: "book_status".into(),
/// };
/// assert_eq!(
///     m.to_string(),
///     "Book column `status` is declared `Isbn`, which does not fit books.status (book_status)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{entity} column `{column}` is declared `{rust_type}`, which does not fit {table}.{column} ({sql_type})"
)]
pub struct ColumnTypeMismatch {
    /// The entity the repository stores.
    pub entity: &'static str,
    /// The index table.
    pub table: String,
    /// The column.
    pub column: String,
    /// The Rust type the repository declares for it, as written.
    pub rust_type: &'static str,
    /// The column's SQL type, as PostgreSQL names it (`format_type`).
    pub sql_type: String,
}

/// Why a repository's first-use column check failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ColumnTypeError {
    /// Reading the catalog failed.
    #[error("reading the column types: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// Declared column types that do not fit the table, all of them.
    #[error("{}", join(.0))]
    Mismatch(Vec<ColumnTypeMismatch>),
}

/// The mismatches, separated by `; `.
fn join(mismatches: &[ColumnTypeMismatch]) -> String {
    let texts: Vec<String> = mismatches.iter().map(ToString::to_string).collect();
    texts.join("; ")
}

/// One column of the index table as the catalog describes it (the row of
/// the repository's catalog query).
pub struct CatalogColumn {
    pub column: String,
    /// `pg_type.typname` of the column's type; for a domain, of its base type.
    pub type_name: String,
    /// `format_type(atttypid, atttypmod)`: the column's type as written.
    pub sql_type: String,
}

/// A column whose declared type the repository checks on first use.
pub struct DeclaredColumn {
    pub column: &'static str,
    pub rust_type: &'static str,
    pub fits: fn(&CatalogColumn) -> bool,
}

/// Whether a value of `T` can be written to (and compared with) a column
/// of the catalog type `col`, as sqlx judges it (`Type::compatible`).
pub fn fits<T: Type<Postgres> + ?Sized>(col: &CatalogColumn) -> bool {
    let declared = T::type_info();
    if declared.oid().is_none() {
        // Declared by name (`#[sqlx(type_name = "...")]`): sqlx cannot
        // compare a name with an OID, so compare the names.
        return same_name(declared.name(), &col.type_name);
    }
    // By name, PostgreSQL's own (`int4`, `varchar`, `book_status`): sqlx
    // compares a name with its built-in types exactly, whereas a bare OID
    // compares equal to every type declared by name (`citext` among
    // `String`'s), so it would let `String` pass for any column.
    T::compatible(&PgTypeInfo::with_name(interned(&col.type_name)))
}

/// `name` as a `&'static str`, which is what sqlx wants for a type name;
/// each distinct name is leaked once per process.
fn interned(name: &str) -> &'static str {
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// `book_status` and `public.book_status` or `"Book_Status"` name the same
/// type for this check: the last segment, unquoted, case-folded unless quoted.
fn same_name(declared: &str, catalog: &str) -> bool {
    let last = declared.rsplit('.').next().unwrap_or(declared);
    match last.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(quoted) => quoted == catalog,
        None => last.eq_ignore_ascii_case(catalog),
    }
}

/// Checks the declared columns against the catalog's; a column the catalog
/// lacks is left to the statements (they name it, and fail to prepare).
pub fn check_columns(
    entity: &'static str,
    table: &str,
    declared: &[DeclaredColumn],
    catalog: &[CatalogColumn],
) -> Result<(), ColumnTypeError> {
    let mismatches: Vec<_> = declared
        .iter()
        .filter_map(|d| {
            let col = catalog.iter().find(|c| c.column == d.column)?;
            (!(d.fits)(col)).then(|| ColumnTypeMismatch {
                entity,
                table: table.to_owned(),
                column: d.column.to_owned(),
                rust_type: d.rust_type,
                sql_type: col.sql_type.clone(),
            })
        })
        .collect();
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err(ColumnTypeError::Mismatch(mismatches))
    }
}

#[cfg(test)]
mod tests {
    use super::same_name;

    #[test]
    fn names() {
        assert!(same_name("book_status", "book_status"));
        assert!(same_name("public.book_status", "book_status"));
        assert!(same_name("Book_Status", "book_status"));
        assert!(same_name("\"Book\"", "Book"));
        assert!(!same_name("\"Book\"", "book"));
        assert!(!same_name("status", "book_status"));
    }
}
