//! The drift check: what the repositories need against what the catalog
//! has, every difference with the statement that fixes it.

use std::fmt;

use sqlx::{PgConnection, PgPool};

use super::catalog::{self, FoundIndex, FoundTable, Place};
use super::ddl::{self, ident_list, qualified, quote_ident as ident, sql_type};
use super::{Need, RepoSchema, Table};

/// Where and how strictly [`check_with`] looks.
///
/// ```
/// use es_entity::schema::CheckOptions;
///
/// let options = CheckOptions::new().schema("drift_test").strict();
/// assert_eq!(options.schema_name(), Some("drift_test"));
/// assert!(options.is_strict());
/// ```
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    schema: Option<String>,
    strict: bool,
}

impl CheckOptions {
    /// The defaults: unqualified tables and sequences are resolved through
    /// `search_path` as the repositories' statements resolve them, and only
    /// what the repositories need is checked.
    pub fn new() -> Self {
        Self::default()
    }

    /// Looks up unqualified table and sequence names in `schema` instead
    /// of through `search_path`. The fixes still name tables as the
    /// repositories do: run them with `schema` first in `search_path`, as
    /// the repositories' own connections must have it.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Also reports what the repositories do not need: columns and indexes
    /// beyond theirs.
    pub fn strict(mut self) -> Self {
        self.strict = true;
        self
    }

    /// The schema unqualified names are looked up in, when not through `search_path`.
    pub fn schema_name(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Whether extras are reported.
    pub fn is_strict(&self) -> bool {
        self.strict
    }
}

/// Reading the catalog failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaCheckError {
    /// A catalog statement failed.
    #[error("reading the schema from the catalog: {0}")]
    Catalog(#[from] sqlx::Error),
    /// `search_path` names no existing schema, so unqualified names resolve nowhere.
    #[error("current_schema() is NULL: search_path names no existing schema")]
    NoCurrentSchema,
}

/// What differs (see [`Difference`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DifferenceKind {
    /// A type of the repository's own (a `#[derive(sqlx::Type)]` enum's
    /// `type_name`) is missing; its fix is a `CREATE TYPE` to complete
    /// with the labels of the Rust enum, which sqlx does not tell.
    MissingType,
    /// The sequence a column default draws from is missing.
    MissingSequence,
    /// The table is missing.
    MissingTable,
    /// The column is missing.
    MissingColumn { column: String },
    /// The column's type does not fit the declared Rust type.
    WrongType {
        column: String,
        /// The type the repository's DDL gives it.
        expected: String,
        /// The column's type (`format_type`).
        found: String,
    },
    /// The column allows NULL; the repository needs `NOT NULL`.
    Nullable { column: String },
    /// The column is `NOT NULL` (without a default), but the repository
    /// writes NULL to it or does not write it on create.
    NotNullable { column: String },
    /// The column has no default; the repository's writes rely on one.
    MissingDefault { column: String },
    /// A column the repository does not know is `NOT NULL` without a
    /// default, so every insert fails.
    BlocksInserts { column: String },
    /// No primary key (or unique key) on these columns.
    MissingPrimaryKey { columns: Vec<String> },
    /// No unique constraint or unique index on exactly these columns.
    MissingUnique { columns: Vec<String> },
    /// No b-tree index leading with these columns.
    MissingIndex {
        columns: Vec<String>,
        /// What needs it.
        purpose: String,
    },
    /// No foreign key on these columns to the table's index table.
    MissingForeignKey {
        columns: Vec<String>,
        references: String,
    },
    /// A function the repository's statements call is missing (none of
    /// this name and these argument types through `search_path`, nor in the
    /// schema of the options).
    MissingFunction,
    /// The function exists but is not the library's: another result type,
    /// or not `VOLATILE` (a `STABLE` one would read with the calling
    /// statement's snapshot, and miss the events of the writers it waited
    /// for).
    WrongFunction {
        /// What the catalog says: its volatility and result type.
        found: String,
    },
    /// A column the repository does not use (strict only).
    ExtraColumn { column: String },
    /// An index or constraint the repository does not need (strict only).
    ExtraIndex { name: String },
}

/// One difference between what a repository needs and what the database
/// has, with the statement that fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The entity whose repository needs it.
    pub entity: &'static str,
    /// The table (or sequence, or type), as the repository names it.
    pub table: String,
    /// What differs.
    pub kind: DifferenceKind,
    /// SQL that makes this difference go away, as a migration would run it.
    pub fix: String,
    /// Whether it is reported only in strict mode (not needed by the repository).
    pub extra: bool,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.table;
        match &self.kind {
            DifferenceKind::MissingType => write!(f, "type {t} is missing"),
            DifferenceKind::MissingSequence => write!(f, "sequence {t} is missing"),
            DifferenceKind::MissingTable => write!(f, "table {t} is missing"),
            DifferenceKind::MissingColumn { column } => write!(f, "{t}.{column} is missing"),
            DifferenceKind::WrongType {
                column,
                expected,
                found,
            } => write!(
                f,
                "{t}.{column} is {found}, which does not fit the declared type ({expected})"
            ),
            DifferenceKind::Nullable { column } => {
                write!(f, "{t}.{column} allows NULL; it must be NOT NULL")
            }
            DifferenceKind::NotNullable { column } => write!(
                f,
                "{t}.{column} is NOT NULL without a default, but the repository stores NULL in it"
            ),
            DifferenceKind::MissingDefault { column } => {
                write!(f, "{t}.{column} has no default; writes rely on it")
            }
            DifferenceKind::BlocksInserts { column } => write!(
                f,
                "{t}.{column} is not the repository's, and is NOT NULL without a default: every insert fails"
            ),
            DifferenceKind::MissingPrimaryKey { columns } => {
                write!(f, "{t} has no primary key on ({})", columns.join(", "))
            }
            DifferenceKind::MissingUnique { columns } => write!(
                f,
                "{t} has no unique constraint or unique index on ({})",
                columns.join(", ")
            ),
            DifferenceKind::MissingIndex { columns, purpose } => write!(
                f,
                "{t} has no index leading with ({}), which {purpose} needs",
                columns.join(", ")
            ),
            DifferenceKind::MissingForeignKey {
                columns,
                references,
            } => write!(
                f,
                "{t} has no foreign key ({}) to {references}",
                columns.join(", ")
            ),
            DifferenceKind::MissingFunction => write!(f, "function {t} is missing"),
            DifferenceKind::WrongFunction { found } => write!(
                f,
                "function {t} is {found}; it must be VOLATILE and return the library's table"
            ),
            DifferenceKind::ExtraColumn { column } => {
                write!(f, "{t}.{column} is not used by the repository")
            }
            DifferenceKind::ExtraIndex { name } => {
                write!(
                    f,
                    "{t} has index {name}, which the repository does not need"
                )
            }
        }?;
        if self.extra {
            f.write_str(" (strict)")?;
        }
        write!(
            f,
            " [{}]\n    fix: {}",
            self.entity,
            self.fix.trim_end().replace('\n', "\n         ")
        )
    }
}

/// Every difference the check found; empty when the schema fits.
///
/// Its `Display` lists each difference (what, where, the fix), then all
/// the fixes together as one migration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drift {
    /// In order: types, sequences, functions, then each repository's tables in turn. Applying
    /// the fixes in this order works.
    pub differences: Vec<Difference>,
}

impl Drift {
    /// Whether nothing differs.
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }

    /// Every fix, in order, as one migration.
    pub fn fix_sql(&self) -> String {
        let mut out = String::new();
        for d in &self.differences {
            out.push_str(d.fix.trim_end());
            out.push('\n');
        }
        out
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            return f.write_str("the schema has everything the repositories need");
        }
        writeln!(
            f,
            "the schema differs from what the repositories need ({} difference{}):",
            self.differences.len(),
            if self.differences.len() == 1 { "" } else { "s" }
        )?;
        for d in &self.differences {
            writeln!(f, "- {d}")?;
        }
        write!(f, "\nthe fixes, as one migration:\n{}", self.fix_sql())
    }
}

/// Checks the database behind `pool` against what `repos` need, resolving
/// unqualified names through the connection's `search_path` as the
/// repositories' statements do (a missing table's fix creates it in
/// `current_schema()`). Extras are allowed (see [`CheckOptions::strict`]).
pub async fn check(pool: &PgPool, repos: &[RepoSchema]) -> Result<Drift, SchemaCheckError> {
    check_with(pool, repos, &CheckOptions::new()).await
}

/// [`check`] with options: another schema, strict mode.
pub async fn check_with(
    pool: &PgPool,
    repos: &[RepoSchema],
    options: &CheckOptions,
) -> Result<Drift, SchemaCheckError> {
    let mut conn = pool.acquire().await?;
    Checker::new(&mut conn, options).await?.run(repos).await
}

/// Fails with every difference and its fix unless the database fits
/// `repos`: for a project's test suite.
///
/// ```no_run
/// # async fn f(pool: sqlx::PgPool) {
/// # use es_entity::schema::{RepoSchema};
/// # let users = RepoSchema::new("User");
/// es_entity::schema::assert_no_drift(&pool, &[users]).await;
/// # }
/// ```
pub async fn assert_no_drift(pool: &PgPool, repos: &[RepoSchema]) {
    assert_no_drift_with(pool, repos, &CheckOptions::new()).await
}

/// [`assert_no_drift`] with options.
pub async fn assert_no_drift_with(pool: &PgPool, repos: &[RepoSchema], options: &CheckOptions) {
    match check_with(pool, repos, options).await {
        Ok(drift) if drift.is_clean() => {}
        Ok(drift) => panic!("{drift}"),
        Err(e) => panic!("{e}"),
    }
}

struct Checker<'c> {
    conn: &'c mut PgConnection,
    /// Where unqualified names are looked up; `None`: through `search_path`.
    schema: Option<String>,
    strict: bool,
    out: Vec<Difference>,
}

impl<'c> Checker<'c> {
    async fn new(
        conn: &'c mut PgConnection,
        options: &CheckOptions,
    ) -> Result<Self, SchemaCheckError> {
        if options.schema.is_none() {
            // A missing table's `CREATE TABLE` goes to `current_schema()`.
            catalog::current_schema(&mut *conn)
                .await?
                .ok_or(SchemaCheckError::NoCurrentSchema)?;
        }
        let schema = options.schema.clone();
        Ok(Self {
            conn,
            schema,
            strict: options.strict,
            out: Vec::new(),
        })
    }

    /// Where a table or sequence named as a repository names it is: in its
    /// own schema when qualified, else in the schema of the options, else
    /// wherever `search_path` finds it first.
    fn locate<'n>(schema: Option<&'n str>, name: &'n str) -> Place<'n> {
        match (name.split_once('.'), schema) {
            (Some((schema, bare)), _) => Place::In { schema, name: bare },
            (None, Some(schema)) => Place::In { schema, name },
            (None, None) => Place::SearchPath(ddl::quote_ident(name)),
        }
    }

    async fn run(mut self, repos: &[RepoSchema]) -> Result<Drift, SchemaCheckError> {
        for repo in repos {
            for ty in repo.named_types() {
                if !catalog::type_exists(&mut *self.conn, ty).await? {
                    self.push(
                        repo.entity,
                        ty,
                        DifferenceKind::MissingType,
                        ddl::create_type_note(ty),
                        false,
                    );
                }
            }
        }
        for repo in repos {
            for seq in &repo.sequences {
                let exists = {
                    let place = Self::locate(self.schema.as_deref(), seq);
                    catalog::sequence_at(&mut *self.conn, &place).await?
                };
                if !exists {
                    self.push(
                        repo.entity,
                        seq,
                        DifferenceKind::MissingSequence,
                        ddl::create_sequence(seq),
                        false,
                    );
                }
            }
        }
        for (entity, function) in super::merged_functions(repos) {
            self.function(entity, function).await?;
        }
        // What a repository does not use of a table another one shares is
        // not an extra: extras are judged against all their needs.
        let merged = super::merged_tables(repos);
        for repo in repos {
            for table in &repo.tables {
                let all = merged
                    .iter()
                    .find(|m| m.name == table.name)
                    .unwrap_or(table);
                self.table(repo.entity, table, all).await?;
            }
        }
        // Two repositories of one table report its differences once.
        let mut seen: Vec<(String, String)> = Vec::new();
        self.out.retain(|d| {
            let key = (d.table.clone(), d.fix.clone());
            let new = !seen.contains(&key);
            seen.push(key);
            new
        });
        Ok(Drift {
            differences: self.out,
        })
    }

    /// The function, through `search_path` as the statements call it (or
    /// in the schema of the options): there, `VOLATILE`, with its result.
    async fn function(
        &mut self,
        entity: &'static str,
        function: &super::Function,
    ) -> Result<(), SchemaCheckError> {
        let signature = function.signature();
        let mut found = catalog::function(&mut *self.conn, &signature).await?;
        if found.is_none()
            && let Some(schema) = &self.schema
        {
            let qualified = format!("{}.{signature}", ident(schema));
            found = catalog::function(&mut *self.conn, &qualified).await?;
        }
        match found {
            None => self.push(
                entity,
                &signature,
                DifferenceKind::MissingFunction,
                function.sql().to_owned(),
                false,
            ),
            Some((volatility, result)) if volatility != "v" || result != function.result() => {
                let volatility = match volatility.as_str() {
                    "s" => "STABLE",
                    "i" => "IMMUTABLE",
                    _ => "VOLATILE",
                };
                self.push(
                    entity,
                    &signature,
                    DifferenceKind::WrongFunction {
                        found: format!("{volatility}, returning {result}"),
                    },
                    format!("DROP FUNCTION {signature};\n{}", function.sql()),
                    false,
                );
            }
            Some(_) => {}
        }
        Ok(())
    }

    fn push(
        &mut self,
        entity: &'static str,
        table: &str,
        kind: DifferenceKind,
        fix: String,
        extra: bool,
    ) {
        self.out.push(Difference {
            entity,
            table: table.to_owned(),
            kind,
            fix,
            extra,
        });
    }

    /// Checks `spec` (one repository's needs) against the catalog; `all`
    /// is the table with the needs of every repository checked, against
    /// which strict mode judges extras.
    async fn table(
        &mut self,
        entity: &'static str,
        spec: &Table,
        all: &Table,
    ) -> Result<(), SchemaCheckError> {
        let found = {
            let place = Self::locate(self.schema.as_deref(), &spec.name);
            catalog::table(&mut *self.conn, &place).await?
        };
        let Some(found) = found else {
            self.push(
                entity,
                &spec.name,
                DifferenceKind::MissingTable,
                ddl::create_table(spec),
                false,
            );
            return Ok(());
        };
        self.columns(entity, spec, all, &found);
        let mut used: Vec<&str> = Vec::new();
        let t = &spec.name;
        let q = qualified(t);
        if !spec.primary_key.is_empty() {
            match unique_on(&found, &spec.primary_key) {
                Some(i) => used.push(&i.name),
                None => self.push(
                    entity,
                    t,
                    DifferenceKind::MissingPrimaryKey {
                        columns: spec.primary_key.clone(),
                    },
                    format!(
                        "ALTER TABLE {q} ADD PRIMARY KEY ({});",
                        ident_list(&spec.primary_key)
                    ),
                    false,
                ),
            }
        }
        for key in &spec.uniques {
            match unique_on(&found, key) {
                Some(i) => used.push(&i.name),
                None => self.push(
                    entity,
                    t,
                    DifferenceKind::MissingUnique {
                        columns: key.clone(),
                    },
                    format!("ALTER TABLE {q} ADD UNIQUE ({});", ident_list(key)),
                    false,
                ),
            }
        }
        for index in &spec.indexes {
            let serving = found.indexes.iter().find(|i| serves(i, &index.leading));
            match serving {
                Some(i) => used.push(&i.name),
                None => self.push(
                    entity,
                    t,
                    DifferenceKind::MissingIndex {
                        columns: index.leading.clone(),
                        purpose: index.purpose.clone(),
                    },
                    ddl::create_index(spec, index),
                    false,
                ),
            }
        }
        // The events table's key to its index table is part of the schema:
        // without it, events can be stored for no entity or outlive it.
        for fk in &spec.foreign_keys {
            let target = {
                let place = Self::locate(self.schema.as_deref(), &fk.references);
                catalog::table_oid_at(&mut *self.conn, &place).await?
            };
            let Some(target) = target else {
                // The referenced table is missing: reported on its own.
                continue;
            };
            let present = found.foreign_keys.iter().any(|f| {
                f.references == target
                    && f.columns == fk.columns
                    && f.referenced_columns == fk.referenced_columns
            });
            if !present {
                self.push(
                    entity,
                    t,
                    DifferenceKind::MissingForeignKey {
                        columns: fk.columns.clone(),
                        references: fk.references.clone(),
                    },
                    format!(
                        "ALTER TABLE {q} ADD FOREIGN KEY ({}) REFERENCES {} ({});",
                        ident_list(&fk.columns),
                        qualified(&fk.references),
                        ident_list(&fk.referenced_columns)
                    ),
                    false,
                );
            }
        }
        if self.strict {
            // Indexes and keys another repository of the table needs.
            if !all.primary_key.is_empty()
                && let Some(i) = unique_on(&found, &all.primary_key)
            {
                used.push(&i.name);
            }
            for key in &all.uniques {
                if let Some(i) = unique_on(&found, key) {
                    used.push(&i.name);
                }
            }
            for index in &all.indexes {
                if let Some(i) = found.indexes.iter().find(|i| serves(i, &index.leading)) {
                    used.push(&i.name);
                }
            }
            let index_schema = spec
                .name
                .split_once('.')
                .map(|(s, _)| format!("{}.", ident(s)));
            for i in found
                .indexes
                .iter()
                .filter(|i| !used.contains(&i.name.as_str()))
            {
                let fix = match &i.constraint {
                    Some(c) => format!("ALTER TABLE {q} DROP CONSTRAINT {};", ident(c)),
                    None => format!(
                        "DROP INDEX {}{};",
                        index_schema.as_deref().unwrap_or(""),
                        ident(&i.name)
                    ),
                };
                self.push(
                    entity,
                    t,
                    DifferenceKind::ExtraIndex {
                        name: i.constraint.clone().unwrap_or_else(|| i.name.clone()),
                    },
                    fix,
                    true,
                );
            }
        }
        Ok(())
    }

    fn columns(&mut self, entity: &'static str, spec: &Table, all: &Table, found: &FoundTable) {
        let t = &spec.name;
        let q = qualified(t);
        for c in &spec.columns {
            let name = &c.name;
            let n = ident(name);
            let Some(have) = found.columns.iter().find(|f| f.column.column == *name) else {
                self.push(
                    entity,
                    t,
                    DifferenceKind::MissingColumn {
                        column: name.clone(),
                    },
                    ddl::add_column(spec, c),
                    false,
                );
                continue;
            };
            if !c.fits(&have.column) {
                let ty = sql_type(&c.sql_type);
                self.push(
                    entity,
                    t,
                    DifferenceKind::WrongType {
                        column: name.clone(),
                        expected: c.sql_type.clone(),
                        found: have.column.sql_type.clone(),
                    },
                    format!("ALTER TABLE {q} ALTER COLUMN {n} TYPE {ty} USING {n}::{ty};"),
                    false,
                );
            }
            let must_be_nullable = match c.need {
                Need::NotNull => {
                    if !have.not_null {
                        self.push(
                            entity,
                            t,
                            DifferenceKind::Nullable {
                                column: name.clone(),
                            },
                            format!("ALTER TABLE {q} ALTER COLUMN {n} SET NOT NULL;"),
                            false,
                        );
                    }
                    false
                }
                Need::Nullable => have.not_null,
                Need::NullOrDefault => have.not_null && !have.has_default,
            };
            if must_be_nullable {
                self.push(
                    entity,
                    t,
                    DifferenceKind::NotNullable {
                        column: name.clone(),
                    },
                    format!("ALTER TABLE {q} ALTER COLUMN {n} DROP NOT NULL;"),
                    false,
                );
            }
            if let Some(expr) = &c.default
                && !have.has_default
            {
                self.push(
                    entity,
                    t,
                    DifferenceKind::MissingDefault {
                        column: name.clone(),
                    },
                    format!("ALTER TABLE {q} ALTER COLUMN {n} SET DEFAULT {expr};"),
                    false,
                );
            }
        }
        for have in &found.columns {
            let name = &have.column.column;
            if spec.columns.iter().any(|c| c.name == *name) {
                continue;
            }
            if have.not_null && !have.has_default {
                self.push(
                    entity,
                    t,
                    DifferenceKind::BlocksInserts {
                        column: name.clone(),
                    },
                    format!(
                        "ALTER TABLE {q} ALTER COLUMN {} DROP NOT NULL;",
                        ident(name)
                    ),
                    false,
                );
            } else if self.strict && !all.columns.iter().any(|c| c.name == *name) {
                self.push(
                    entity,
                    t,
                    DifferenceKind::ExtraColumn {
                        column: name.clone(),
                    },
                    format!("ALTER TABLE {q} DROP COLUMN {};", ident(name)),
                    true,
                );
            }
        }
    }
}

/// A valid, non-partial unique index (or primary key or unique constraint)
/// on exactly `columns`, in this order, checked immediately: `ON CONFLICT`
/// cannot use a `DEFERRABLE` one.
fn unique_on<'f>(found: &'f FoundTable, columns: &[String]) -> Option<&'f FoundIndex> {
    found
        .indexes
        .iter()
        .find(|i| i.unique && i.valid && !i.partial && i.immediate && i.keys == columns)
}

/// Whether `index` serves `ORDER BY <leading>` (both directions) and
/// equality on its first columns: a valid, non-partial b-tree index
/// whose key starts with `leading`, all ascending (`NULLS LAST`) or all
/// descending (`NULLS FIRST`, walked backwards), each in the column's
/// own collation.
fn serves(index: &FoundIndex, leading: &[String]) -> bool {
    let n = leading.len();
    index.valid
        && !index.partial
        && index.method == "btree"
        && index.keys.len() >= n
        && index.keys[..n] == leading[..]
        && index.options.len() >= n
        && (index.options[..n].iter().all(|&o| o == 0)
            || index.options[..n].iter().all(|&o| o == 3))
        && index.collations_match.len() >= n
        && index.collations_match[..n].iter().all(|&c| c)
}

#[cfg(test)]
mod tests {
    use super::{Difference, DifferenceKind};

    fn shown(kind: DifferenceKind, extra: bool) -> String {
        Difference {
            entity: "Task",
            table: "tasks".into(),
            kind,
            fix: "FIX;".into(),
            extra,
        }
        .to_string()
    }

    #[test]
    fn each_difference_says_what_where_and_the_fix() {
        let col = || "title".to_owned();
        let cols = || vec!["title".to_owned(), "id".to_owned()];
        for (kind, what) in [
            (DifferenceKind::MissingType, "type tasks is missing"),
            (DifferenceKind::MissingSequence, "sequence tasks is missing"),
            (DifferenceKind::MissingTable, "table tasks is missing"),
            (
                DifferenceKind::MissingColumn { column: col() },
                "tasks.title is missing",
            ),
            (
                DifferenceKind::WrongType {
                    column: col(),
                    expected: "TEXT".into(),
                    found: "integer".into(),
                },
                "tasks.title is integer, which does not fit the declared type (TEXT)",
            ),
            (
                DifferenceKind::Nullable { column: col() },
                "tasks.title allows NULL; it must be NOT NULL",
            ),
            (
                DifferenceKind::NotNullable { column: col() },
                "tasks.title is NOT NULL without a default, but the repository stores NULL in it",
            ),
            (
                DifferenceKind::MissingDefault { column: col() },
                "tasks.title has no default; writes rely on it",
            ),
            (
                DifferenceKind::BlocksInserts { column: col() },
                "tasks.title is not the repository's, and is NOT NULL without a default: every insert fails",
            ),
            (
                DifferenceKind::MissingPrimaryKey { columns: cols() },
                "tasks has no primary key on (title, id)",
            ),
            (
                DifferenceKind::MissingUnique { columns: cols() },
                "tasks has no unique constraint or unique index on (title, id)",
            ),
            (
                DifferenceKind::MissingIndex {
                    columns: cols(),
                    purpose: "list_by_title".into(),
                },
                "tasks has no index leading with (title, id), which list_by_title needs",
            ),
            (
                DifferenceKind::MissingForeignKey {
                    columns: vec!["id".into()],
                    references: "projects".into(),
                },
                "tasks has no foreign key (id) to projects",
            ),
        ] {
            assert_eq!(shown(kind, false), format!("{what} [Task]\n    fix: FIX;"));
        }
        for (kind, what) in [
            (
                DifferenceKind::ExtraColumn { column: col() },
                "tasks.title is not used by the repository",
            ),
            (
                DifferenceKind::ExtraIndex {
                    name: "t_idx".into(),
                },
                "tasks has index t_idx, which the repository does not need",
            ),
        ] {
            assert_eq!(
                shown(kind, true),
                format!("{what} (strict) [Task]\n    fix: FIX;")
            );
        }
    }

    #[test]
    fn catalog_names_are_quoted_unless_plain() {
        assert_eq!(super::ident("users_name_key"), "users_name_key");
        assert_eq!(super::ident("Users"), "\"Users\"");
        assert_eq!(super::ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(super::ident("1st"), "\"1st\"");
    }
}
