//! What the drift check reads from PostgreSQL's catalog.
//!
//! The tables checked are the user's, known only at run time, and the
//! check must build without a database, so these statements are fixed
//! strings with parameters (as the projection store's are), checked by the
//! test suite rather than by `sqlx::query!`.

use sqlx::PgConnection;
use sqlx::postgres::types::Oid;

use crate::column_types::CatalogColumn;

const CURRENT_SCHEMA: &str = "SELECT current_schema()::TEXT";

const TABLE: &str = "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')";

const SEQUENCE: &str = "SELECT EXISTS (SELECT 1 FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'S')";

/// An unqualified name resolved as PostgreSQL resolves it in a statement:
/// the first schema of `search_path` (after `pg_temp`) holding a relation
/// of that name. `$1` is the name as an identifier (quoted as needed).
const RESOLVE_TABLE: &str =
    "SELECT c.oid FROM pg_class c WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')";

const RESOLVE_SEQUENCE: &str = "SELECT EXISTS (SELECT 1 FROM pg_class c \
     WHERE c.oid = to_regclass($1) AND c.relkind = 'S')";

/// A type name resolved as sqlx resolves a type it knows by name.
const TYPE_EXISTS: &str = "SELECT to_regtype($1) IS NOT NULL";

/// A domain's column is judged by its base type, as the repositories'
/// first-use check does. An identity column (`GENERATED ... AS IDENTITY`)
/// fills itself as a default does, though `atthasdef` is false for it.
const COLUMNS: &str = "SELECT a.attname::TEXT, bt.typname::TEXT, \
     format_type(a.atttypid, a.atttypmod), a.attnotnull, \
     (a.atthasdef OR a.attidentity <> '') \
     FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
     JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END \
     WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";

/// Every index with its key columns (an expression is an empty name;
/// `INCLUDE` columns are left out) and the constraint it backs, if any;
/// whether it is checked immediately (not `DEFERRABLE`), and per key
/// column its `indoption` (bit 1: `DESC`, bit 2: `NULLS FIRST`) and
/// whether its collation is the column's.
const INDEXES: &str = "SELECT i.relname::TEXT, \
     (SELECT c.conname::TEXT FROM pg_constraint c WHERE c.conindid = x.indexrelid \
     AND c.conrelid = x.indrelid AND c.contype IN ('p', 'u', 'x') LIMIT 1), \
     x.indisunique, x.indpred IS NOT NULL, x.indisvalid, am.amname::TEXT, \
     ARRAY(SELECT COALESCE(a.attname::TEXT, '') FROM UNNEST(x.indkey::INT2[]) WITH ORDINALITY AS k(n, o) \
     LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n \
     WHERE k.o <= x.indnkeyatts ORDER BY k.o), \
     x.indimmediate, \
     ARRAY(SELECT k.opt FROM UNNEST(x.indoption::INT2[]) WITH ORDINALITY AS k(opt, o) \
     WHERE k.o <= x.indnkeyatts ORDER BY k.o), \
     ARRAY(SELECT k.coll IS NOT DISTINCT FROM COALESCE(a.attcollation, 0::OID) \
     FROM UNNEST(x.indkey::INT2[], x.indcollation::OID[]) WITH ORDINALITY AS k(n, coll, o) \
     LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n \
     WHERE k.o <= x.indnkeyatts ORDER BY k.o) \
     FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam \
     WHERE x.indrelid = $1 ORDER BY i.relname";

const FOREIGN_KEYS: &str = "SELECT c.confrelid, \
     ARRAY(SELECT a.attname::TEXT FROM UNNEST(c.conkey) WITH ORDINALITY AS k(n, o) \
     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o), \
     ARRAY(SELECT a.attname::TEXT FROM UNNEST(c.confkey) WITH ORDINALITY AS k(n, o) \
     JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o) \
     FROM pg_constraint c WHERE c.conrelid = $1 AND c.contype = 'f'";

/// A function by its signature (`name(argument types)`, qualified or
/// resolved through `search_path`): its volatility (`v`, `s` or `i`) and
/// its result type.
const FUNCTION: &str = "SELECT p.provolatile::TEXT, pg_get_function_result(p.oid) \
     FROM pg_proc p WHERE p.oid = to_regprocedure($1)";

/// A column as the catalog has it.
pub(super) struct FoundColumn {
    pub column: CatalogColumn,
    pub not_null: bool,
    pub has_default: bool,
}

/// An index (or the index of a primary key or unique constraint).
pub(super) struct FoundIndex {
    pub name: String,
    /// The constraint it backs.
    pub constraint: Option<String>,
    pub unique: bool,
    pub partial: bool,
    pub valid: bool,
    pub method: String,
    pub keys: Vec<String>,
    /// Not `DEFERRABLE`: `ON CONFLICT` can use it.
    pub immediate: bool,
    /// `indoption` per key column.
    pub options: Vec<i16>,
    /// Per key column: its collation is the column's.
    pub collations_match: Vec<bool>,
}

pub(super) struct FoundForeignKey {
    pub references: Oid,
    pub columns: Vec<String>,
    pub referenced_columns: Vec<String>,
}

/// One table as the catalog has it.
pub(super) struct FoundTable {
    pub columns: Vec<FoundColumn>,
    pub indexes: Vec<FoundIndex>,
    pub foreign_keys: Vec<FoundForeignKey>,
}

pub(super) async fn current_schema(conn: &mut PgConnection) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar::<_, Option<String>>(CURRENT_SCHEMA)
        .fetch_one(conn)
        .await
}

pub(super) async fn sequence_exists(
    conn: &mut PgConnection,
    schema: &str,
    name: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar::<_, bool>(SEQUENCE)
        .bind(schema)
        .bind(name)
        .fetch_one(conn)
        .await
}

/// Where a table or sequence is looked for: in a schema by name, or
/// through `search_path`.
pub(super) enum Place<'a> {
    In {
        schema: &'a str,
        name: &'a str,
    },
    /// The name as an identifier, resolved through `search_path`.
    SearchPath(String),
}

pub(super) async fn sequence_at(
    conn: &mut PgConnection,
    place: &Place<'_>,
) -> Result<bool, sqlx::Error> {
    match place {
        Place::In { schema, name } => sequence_exists(conn, schema, name).await,
        Place::SearchPath(ident) => {
            sqlx::query_scalar::<_, bool>(RESOLVE_SEQUENCE)
                .bind(ident)
                .fetch_one(conn)
                .await
        }
    }
}

pub(super) async fn table_oid_at(
    conn: &mut PgConnection,
    place: &Place<'_>,
) -> Result<Option<Oid>, sqlx::Error> {
    match place {
        Place::In { schema, name } => table_oid(conn, schema, name).await,
        Place::SearchPath(ident) => {
            sqlx::query_scalar::<_, Oid>(RESOLVE_TABLE)
                .bind(ident)
                .fetch_optional(conn)
                .await
        }
    }
}

/// Whether the type `name` (resolved through `search_path`) exists.
pub(super) async fn type_exists(conn: &mut PgConnection, name: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar::<_, bool>(TYPE_EXISTS)
        .bind(name)
        .fetch_one(conn)
        .await
}

pub(super) async fn table_oid(
    conn: &mut PgConnection,
    schema: &str,
    name: &str,
) -> Result<Option<Oid>, sqlx::Error> {
    sqlx::query_scalar::<_, Oid>(TABLE)
        .bind(schema)
        .bind(name)
        .fetch_optional(conn)
        .await
}

/// The table at `place`, `None` when there is none.
pub(super) async fn table(
    conn: &mut PgConnection,
    place: &Place<'_>,
) -> Result<Option<FoundTable>, sqlx::Error> {
    let Some(oid) = table_oid_at(&mut *conn, place).await? else {
        return Ok(None);
    };
    let columns = sqlx::query_as::<_, (String, String, String, bool, bool)>(COLUMNS)
        .bind(oid)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(
            |(column, type_name, sql_type, not_null, has_default)| FoundColumn {
                column: CatalogColumn {
                    column,
                    type_name,
                    sql_type,
                },
                not_null,
                has_default,
            },
        )
        .collect();
    type IndexRow = (
        String,
        Option<String>,
        bool,
        bool,
        bool,
        String,
        Vec<String>,
        bool,
        Vec<i16>,
        Vec<bool>,
    );
    let indexes = sqlx::query_as::<_, IndexRow>(INDEXES)
        .bind(oid)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(
            |(
                name,
                constraint,
                unique,
                partial,
                valid,
                method,
                keys,
                immediate,
                options,
                collations_match,
            )| FoundIndex {
                name,
                constraint,
                unique,
                partial,
                valid,
                method,
                keys,
                immediate,
                options,
                collations_match,
            },
        )
        .collect();
    let foreign_keys = sqlx::query_as::<_, (Oid, Vec<String>, Vec<String>)>(FOREIGN_KEYS)
        .bind(oid)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(
            |(references, columns, referenced_columns)| FoundForeignKey {
                references,
                columns,
                referenced_columns,
            },
        )
        .collect();
    Ok(Some(FoundTable {
        columns,
        indexes,
        foreign_keys,
    }))
}

/// The volatility and result type of the function `signature`, `None`
/// when there is none.
pub(super) async fn function(
    conn: &mut PgConnection,
    signature: &str,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as::<_, (String, String)>(FUNCTION)
        .bind(signature)
        .fetch_optional(conn)
        .await
}
