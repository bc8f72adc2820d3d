//! The schema a repository needs, printed as DDL and checked against a
//! live database.
//!
//! `#[derive(EsRepo)]` gives every repository `fn schema() ->
//! RepoSchema`: its index table (`id`, `created_at`, each declared column,
//! `deleted` with soft delete), its events table (with the `(id, sequence)`
//! key and the foreign key to the index table), the feed columns with
//! `feed`, the indexes its listings walk, and the library's function its
//! last-writer-wins writes call ([`Function::stream_tail`]). Column types come from sqlx's
//! own type information for the declared Rust types (`sqlx::Type`), so an
//! entity id, a `#[derive(sqlx::Type)]` enum or a newtype is named the way
//! sqlx names it.
//!
//! - [`RepoSchema::to_sql`] (or [`to_sql`] for several repositories) prints
//!   the `CREATE` statements: a first migration.
//! - [`check`] reads the catalog and returns every [`Difference`] between
//!   what the repositories need and what the database has, each with the SQL
//!   that fixes it; [`assert_no_drift`] panics with them, for a test suite.
//!
//! ```
//! use es_entity::schema::{Column, Need, RepoSchema, Table};
//!
//! let schema = RepoSchema::new("Note")
//!     .with_table(
//!         Table::new("notes")
//!             .column(Column::of::<uuid::Uuid>("id", Need::NotNull))
//!             .column(Column::of::<String>("title", Need::NotNull).unique())
//!             .primary_key(&["id"]),
//!     );
//! assert_eq!(
//!     schema.to_sql(),
//!     "CREATE TABLE notes (\n  id UUID PRIMARY KEY,\n  title TEXT NOT NULL UNIQUE\n);\n"
//! );
//! ```

mod catalog;
mod check;
mod ddl;

pub use check::{
    CheckOptions, Difference, DifferenceKind, Drift, SchemaCheckError, assert_no_drift,
    assert_no_drift_with, check, check_with,
};
pub use ddl::{quote_ident, to_sql};

use sqlx::postgres::Postgres;
use sqlx::{Type, TypeInfo};

use crate::column_types::CatalogColumn;

/// Everything one repository needs from the database: its tables (index
/// table first, then the events table, then those of any feature that
/// needs one) and the sequences their defaults draw from.
#[derive(Debug, Clone)]
pub struct RepoSchema {
    entity: &'static str,
    tables: Vec<Table>,
    sequences: Vec<String>,
    functions: Vec<Function>,
}

impl RepoSchema {
    /// An empty description for the repository of `entity`.
    pub fn new(entity: &'static str) -> Self {
        Self {
            entity,
            tables: Vec::new(),
            sequences: Vec::new(),
            functions: Vec::new(),
        }
    }

    /// Adds a table. Tables are created in the order they were added, so
    /// add a table before one whose foreign key references it.
    pub fn with_table(mut self, table: Table) -> Self {
        self.tables.push(table);
        self
    }

    /// Adds a sequence a column default draws from (`nextval('name')`).
    pub fn with_sequence(mut self, name: impl Into<String>) -> Self {
        self.sequences.push(name.into());
        self
    }

    /// Adds a function the repository's statements call.
    pub fn with_function(mut self, function: Function) -> Self {
        if !self.functions.contains(&function) {
            self.functions.push(function);
        }
        self
    }

    /// The entity the repository stores.
    pub fn entity(&self) -> &'static str {
        self.entity
    }

    /// Its tables, in creation order.
    pub fn tables(&self) -> &[Table] {
        &self.tables
    }

    /// The sequences its column defaults use.
    pub fn sequences(&self) -> &[String] {
        &self.sequences
    }

    /// The functions its statements call.
    pub fn functions(&self) -> &[Function] {
        &self.functions
    }

    /// The types of its own its columns need ([`Column::named_type`]), each once.
    pub fn named_types(&self) -> Vec<&str> {
        let mut types: Vec<&str> = Vec::new();
        for ty in self
            .tables
            .iter()
            .flat_map(|t| t.columns.iter())
            .filter_map(Column::named_type)
        {
            if !types.contains(&ty) {
                types.push(ty);
            }
        }
        types
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The `CREATE SEQUENCE`, `CREATE TABLE` and `CREATE INDEX` statements
    /// of this repository's schema, ready for a migration file.
    pub fn to_sql(&self) -> String {
        to_sql(std::slice::from_ref(self))
    }
}

/// A function of the library's that generated statements call, with the
/// `CREATE OR REPLACE FUNCTION` that defines it (as the migration
/// `migrations/20261130000100_stream_tail.sql` of this repository has it).
///
/// The drift check finds it by its name and argument types through
/// `search_path` (the statements call it unqualified), and requires its
/// result type and its volatility; it does not compare the body.
///
/// ```
/// use es_entity::schema::Function;
///
/// let tail = Function::stream_tail();
/// assert_eq!(tail.signature(), "es_entity_stream_tail(regclass, anyelement, integer)");
/// assert!(tail.sql().contains("LANGUAGE plpgsql VOLATILE"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    name: &'static str,
    arguments: &'static str,
    result: &'static str,
    sql: &'static str,
}

impl Function {
    /// `es_entity_stream_tail(events, id, after)`: the stream's version and
    /// its events after `after`, read with a fresh snapshot. Called by
    /// `update_unchecked` once the entity's index row is locked; it must be
    /// `VOLATILE`, so that under READ COMMITTED it sees every event
    /// committed by the writers that held the lock before (the calling
    /// statement's snapshot predates its wait for the lock).
    pub fn stream_tail() -> Self {
        Self {
            name: "es_entity_stream_tail",
            arguments: "regclass, anyelement, integer",
            result: "TABLE(version integer, sequence integer, event_type text, event jsonb, \
                     context jsonb, recorded_at timestamp with time zone)",
            sql: include_str!("stream_tail.sql"),
        }
    }

    /// Its name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// `name(argument types)`, as `to_regprocedure` reads it.
    pub fn signature(&self) -> String {
        format!("{}({})", self.name, self.arguments)
    }

    /// Its result type, as `pg_get_function_result` prints it.
    pub fn result(&self) -> &'static str {
        self.result
    }

    /// The statement that creates (or replaces) it, with its comments.
    pub fn sql(&self) -> &'static str {
        self.sql
    }
}

/// Each function of `repos` once, in order.
pub(crate) fn merged_functions(repos: &[RepoSchema]) -> Vec<(&'static str, &Function)> {
    let mut out: Vec<(&'static str, &Function)> = Vec::new();
    for repo in repos {
        for f in &repo.functions {
            if !out.iter().any(|(_, have)| *have == f) {
                out.push((repo.entity, f));
            }
        }
    }
    out
}

/// Each table of `repos` once, in the order the repositories list them,
/// with the needs of every repository that uses it.
pub(crate) fn merged_tables(repos: &[RepoSchema]) -> Vec<Table> {
    let mut out: Vec<Table> = Vec::new();
    for table in repos.iter().flat_map(|r| r.tables.iter()) {
        match out.iter_mut().find(|have| have.name == table.name) {
            Some(have) => have.merge(table),
            None => out.push(table.clone()),
        }
    }
    out
}

/// One table a repository needs.
#[derive(Debug, Clone)]
pub struct Table {
    name: String,
    columns: Vec<Column>,
    primary_key: Vec<String>,
    uniques: Vec<Vec<String>>,
    foreign_keys: Vec<ForeignKey>,
    indexes: Vec<Index>,
}

impl Table {
    /// A table named as the repository's statements name it (`users`,
    /// or qualified: `app.users`).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            uniques: Vec::new(),
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
        }
    }

    /// Adds a column (a `unique` one also adds its one-column key).
    pub fn column(mut self, column: Column) -> Self {
        if column.unique {
            self.uniques.push(vec![column.name.clone()]);
        }
        self.columns.push(column);
        self
    }

    /// The primary key.
    pub fn primary_key(mut self, columns: &[&str]) -> Self {
        self.primary_key = columns.iter().map(|c| (*c).to_owned()).collect();
        self
    }

    /// A unique key over several columns, in this order.
    pub fn unique(mut self, columns: &[&str]) -> Self {
        self.uniques
            .push(columns.iter().map(|c| (*c).to_owned()).collect());
        self
    }

    /// A foreign key.
    pub fn foreign_key(mut self, fk: ForeignKey) -> Self {
        self.foreign_keys.push(fk);
        self
    }

    /// An index whose leading columns some statement needs.
    pub fn index(mut self, index: Index) -> Self {
        self.indexes.push(index);
        self
    }

    /// The name statements use.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The primary key's columns (empty: none needed).
    pub fn primary_key_columns(&self) -> &[String] {
        &self.primary_key
    }

    /// The unique keys other than the primary key.
    pub fn unique_keys(&self) -> &[Vec<String>] {
        &self.uniques
    }

    /// Its foreign keys.
    pub fn foreign_keys(&self) -> &[ForeignKey] {
        &self.foreign_keys
    }

    /// The indexes the statements rely on.
    pub fn indexes(&self) -> &[Index] {
        &self.indexes
    }

    /// Adds what `other` (the same table, as another repository needs it)
    /// needs beyond this: its columns this lacks (a column both have keeps
    /// this one's definition), keys, foreign keys and indexes.
    fn merge(&mut self, other: &Table) {
        for c in &other.columns {
            if !self.columns.iter().any(|have| have.name == c.name) {
                self.columns.push(c.clone());
            }
        }
        if self.primary_key.is_empty() {
            self.primary_key = other.primary_key.clone();
        }
        for key in &other.uniques {
            if !self.uniques.contains(key) && *key != self.primary_key {
                self.uniques.push(key.clone());
            }
        }
        for fk in &other.foreign_keys {
            if !self.foreign_keys.iter().any(|have| {
                have.columns == fk.columns
                    && have.references == fk.references
                    && have.referenced_columns == fk.referenced_columns
            }) {
                self.foreign_keys.push(fk.clone());
            }
        }
        for index in &other.indexes {
            if !self
                .indexes
                .iter()
                .any(|have| have.columns == index.columns)
            {
                self.indexes.push(index.clone());
            }
        }
    }

    /// The table name without its schema.
    pub(crate) fn bare_name(&self) -> &str {
        self.name.rsplit('.').next().unwrap_or(&self.name)
    }
}

/// What a repository's writes need of a column's nullability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Every write gives it a value: `NOT NULL`.
    NotNull,
    /// Writes can store NULL (an `Option`): the column must allow it.
    Nullable,
    /// `create` does not write it, `update` does (`create(persist =
    /// false)`): nullable, or `NOT NULL` with a default.
    NullOrDefault,
}

/// One column a table needs.
#[derive(Debug, Clone)]
pub struct Column {
    name: String,
    sql_type: String,
    fits: Fits,
    need: Need,
    default: Option<String>,
    unique: bool,
    /// sqlx knows the type by name only (a `#[derive(sqlx::Type)]` enum or
    /// newtype of its own type), so the database must have a type of that name.
    named_type: bool,
}

impl Column {
    /// A column holding values of the Rust type `T`: its SQL type is the
    /// one sqlx gives `T` (`T::type_info()`), and a database column fits
    /// when sqlx can write `T` to it (`T::compatible`, so `String` fits
    /// `VARCHAR` as well as `TEXT`).
    pub fn of<T: Type<Postgres> + ?Sized>(name: impl Into<String>, need: Need) -> Self {
        Self {
            name: name.into(),
            sql_type: T::type_info().name().to_owned(),
            fits: Fits::Sqlx(crate::column_types::fits::<T>),
            need,
            default: None,
            unique: false,
            named_type: T::type_info().oid().is_none(),
        }
    }

    /// A column of a type sqlx has no Rust type for (the feed's `xid8`),
    /// matched by its catalog name (`pg_type.typname`, lower case) and
    /// written as `sql_type` in the DDL.
    pub fn named(name: impl Into<String>, sql_type: &'static str, need: Need) -> Self {
        Self {
            name: name.into(),
            sql_type: sql_type.to_owned(),
            fits: Fits::Name(sql_type),
            need,
            default: None,
            unique: false,
            named_type: false,
        }
    }

    /// Writes rely on the column's default (`DEFAULT FALSE`,
    /// `DEFAULT pg_current_xact_id()`): the column must have one.
    pub fn default(mut self, expr: impl Into<String>) -> Self {
        self.default = Some(expr.into());
        self
    }

    /// A one-column unique key.
    pub fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The SQL type the DDL gives it.
    pub fn sql_type(&self) -> &str {
        &self.sql_type
    }

    /// What writes need of its nullability.
    pub fn need(&self) -> Need {
        self.need
    }

    /// The default writes rely on, if any.
    pub fn default_expr(&self) -> Option<&str> {
        self.default.as_deref()
    }

    /// Whether it is a one-column unique key.
    pub fn is_unique(&self) -> bool {
        self.unique
    }

    /// The type the database must define for it (`CREATE TYPE`): the name
    /// sqlx gives a type it knows by name only, such as a
    /// `#[derive(sqlx::Type)]` enum's `type_name` (for an array of one, the
    /// element type). `None` for PostgreSQL's own types.
    pub fn named_type(&self) -> Option<&str> {
        self.named_type
            .then(|| self.sql_type.strip_suffix("[]").unwrap_or(&self.sql_type))
    }

    pub(crate) fn fits(&self, col: &CatalogColumn) -> bool {
        match self.fits {
            Fits::Sqlx(fits) => fits(col),
            Fits::Name(name) => col.type_name.eq_ignore_ascii_case(name),
        }
    }
}

/// How a catalog column's type is judged.
#[derive(Clone, Copy)]
enum Fits {
    /// By sqlx (`Type::compatible`, see `column_types::fits`).
    Sqlx(fn(&CatalogColumn) -> bool),
    /// By the type's catalog name.
    Name(&'static str),
}

impl std::fmt::Debug for Fits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fits::Sqlx(_) => f.write_str("Sqlx"),
            Fits::Name(n) => write!(f, "Name({n})"),
        }
    }
}

/// A foreign key of a table.
#[derive(Debug, Clone)]
pub struct ForeignKey {
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table, named as statements name it.
    pub references: String,
    /// The referenced columns.
    pub referenced_columns: Vec<String>,
}

/// An index whose leading columns a generated statement filters or orders
/// by. Any valid, non-partial b-tree index whose key starts with these
/// columns serves it.
#[derive(Debug, Clone)]
pub struct Index {
    /// The columns the statements need first in the key, in order.
    pub leading: Vec<String>,
    /// The columns the DDL gives the index it creates (starting with `leading`).
    pub columns: Vec<String>,
    /// What needs it (`list_by_title`, `the feed`), for the report.
    pub purpose: String,
}
