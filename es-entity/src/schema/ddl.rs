//! The SQL text of a schema: `CREATE` statements for a first migration,
//! and the one-statement fixes the drift check prints.
//!
//! Every identifier (table, schema, column, sequence, index, constraint),
//! whether a repository gave it or the catalog did, goes through
//! [`quote_ident`]: bare when it is a plain lower-case identifier that is
//! not a reserved word, quoted otherwise, so no name can break or extend
//! the statements. Column defaults are SQL expressions by design and are
//! printed as given.

use super::{Column, Index, Need, RepoSchema, Table};

/// The `CREATE SEQUENCE`, `CREATE TABLE` and `CREATE INDEX` statements of
/// several repositories, then the functions their statements call, each table and sequence once (a table several of
/// them share with the columns, keys and indexes of all), in the order the
/// repositories list them (put a repository before one whose tables
/// reference its tables).
///
/// ```
/// # use es_entity::schema::{Column, Need, RepoSchema, Table};
/// let a = RepoSchema::new("A").with_sequence("positions");
/// let b = RepoSchema::new("B").with_sequence("positions");
/// assert_eq!(
///     es_entity::schema::to_sql(&[a, b]),
///     "CREATE SEQUENCE IF NOT EXISTS positions;\n"
/// );
/// ```
pub fn to_sql(repos: &[RepoSchema]) -> String {
    let mut out = Vec::new();
    let mut sequences: Vec<&str> = Vec::new();
    for seq in repos.iter().flat_map(|r| r.sequences.iter()) {
        if !sequences.contains(&seq.as_str()) {
            sequences.push(seq);
            out.push(create_sequence(seq));
        }
    }
    let tables = super::merged_tables(repos);
    let mut types: Vec<&str> = Vec::new();
    // A table several repositories share has what each of them needs.
    for table in &tables {
        // A type sqlx knows by name only: its definition (an enum's labels)
        // is in the Rust code, not in sqlx's type information.
        let mut notes = String::new();
        for ty in table.columns.iter().filter_map(Column::named_type) {
            if !types.contains(&ty) {
                types.push(ty);
                notes.push_str(&create_type_note(ty));
            }
        }
        out.push(notes + &create_table(table));
    }
    for (_, function) in super::merged_functions(repos) {
        out.push(function.sql().to_owned());
    }
    out.join("\n")
}

/// The `CREATE TYPE` a named type needs, as a comment to complete: sqlx
/// tells the type's name but not its labels.
pub(super) fn create_type_note(name: &str) -> String {
    format!(
        "-- CREATE TYPE {} AS ENUM (...);  -- labels from your Rust enum\n",
        qualified(name)
    )
}

/// `CREATE SEQUENCE IF NOT EXISTS name;` (several feeds share one).
pub(super) fn create_sequence(name: &str) -> String {
    format!("CREATE SEQUENCE IF NOT EXISTS {};\n", qualified(name))
}

/// The table's `CREATE TABLE` and its `CREATE INDEX` statements.
pub(super) fn create_table(table: &Table) -> String {
    let single_pk = match table.primary_key.as_slice() {
        [one] => Some(one.as_str()),
        _ => None,
    };
    let mut lines: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            let mut line = format!("  {}", column_definition(c));
            if single_pk == Some(c.name.as_str()) {
                // PRIMARY KEY implies NOT NULL.
                line = format!(
                    "  {} {} PRIMARY KEY",
                    quote_ident(&c.name),
                    sql_type(&c.sql_type)
                );
            }
            if let Some(fk) = table
                .foreign_keys
                .iter()
                .find(|fk| fk.columns.len() == 1 && fk.columns[0] == c.name)
            {
                line.push_str(&format!(
                    " REFERENCES {} ({})",
                    qualified(&fk.references),
                    ident_list(&fk.referenced_columns)
                ));
            }
            line
        })
        .collect();
    if table.primary_key.len() > 1 {
        lines.push(format!(
            "  PRIMARY KEY ({})",
            ident_list(&table.primary_key)
        ));
    }
    for key in &table.uniques {
        let inline = key.len() == 1 && table.columns.iter().any(|c| c.unique && c.name == key[0]);
        if !inline {
            lines.push(format!("  UNIQUE ({})", ident_list(key)));
        }
    }
    for fk in table.foreign_keys.iter().filter(|fk| fk.columns.len() != 1) {
        lines.push(format!(
            "  FOREIGN KEY ({}) REFERENCES {} ({})",
            ident_list(&fk.columns),
            qualified(&fk.references),
            ident_list(&fk.referenced_columns)
        ));
    }
    let mut out = format!(
        "CREATE TABLE {} (\n{}\n);\n",
        qualified(&table.name),
        lines.join(",\n")
    );
    let mut printed: Vec<&[String]> = Vec::new();
    for index in &table.indexes {
        if printed.contains(&index.columns.as_slice()) {
            continue;
        }
        printed.push(&index.columns);
        out.push_str(&create_index(table, index));
    }
    out
}

/// `name TYPE [NOT NULL] [DEFAULT expr] [UNIQUE]`.
fn column_definition(c: &Column) -> String {
    let mut def = format!("{} {}", quote_ident(&c.name), sql_type(&c.sql_type));
    if c.need == Need::NotNull {
        def.push_str(" NOT NULL");
    }
    if let Some(expr) = &c.default {
        def.push_str(&format!(" DEFAULT {expr}"));
    }
    if c.unique {
        def.push_str(" UNIQUE");
    }
    def
}

/// `CREATE INDEX <table>_<columns>_idx ON <table> (<columns>);`
pub(super) fn create_index(table: &Table, index: &Index) -> String {
    let name = format!("{}_{}_idx", table.bare_name(), index.columns.join("_"));
    format!(
        "CREATE INDEX {} ON {} ({});\n",
        quote_ident(&name),
        qualified(&table.name),
        ident_list(&index.columns)
    )
}

/// `ALTER TABLE t ADD COLUMN ...` for a missing column (its unique key is
/// a difference of its own).
pub(super) fn add_column(table: &Table, c: &Column) -> String {
    let mut def = format!("{} {}", quote_ident(&c.name), sql_type(&c.sql_type));
    if c.need == Need::NotNull {
        def.push_str(" NOT NULL");
    }
    if let Some(expr) = &c.default {
        def.push_str(&format!(" DEFAULT {expr}"));
    }
    format!("ALTER TABLE {} ADD COLUMN {def};", qualified(&table.name))
}

/// PostgreSQL's reserved key words: those `pg_get_keywords()` lists with
/// `catcode` `R` (reserved) or `T` (reserved, but usable as a function or
/// type name), none of which can name a table or column unquoted. Sorted;
/// the test suite compares it with the server's list.
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "table",
    "tablesample",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

/// An identifier as SQL: bare when it is a plain lower-case identifier
/// (`[a-z_][a-z0-9_]*`) and not one of PostgreSQL's reserved key words,
/// quoted otherwise, with any `"` doubled. Whatever the name, the result
/// is one identifier that names it.
///
/// ```
/// use es_entity::schema::quote_ident;
///
/// assert_eq!(quote_ident("users"), "users");
/// assert_eq!(quote_ident("order"), "\"order\"");
/// assert_eq!(quote_ident("Users"), "\"Users\"");
/// assert_eq!(quote_ident("a\"; DROP TABLE t; --"), "\"a\"\"; DROP TABLE t; --\"");
/// ```
pub fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain && RESERVED.binary_search(&name).is_err() {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// A table or sequence named as a repository names it (`users`, or
/// `app.users`): each part through [`quote_ident`].
pub(super) fn qualified(name: &str) -> String {
    match name.split_once('.') {
        Some((schema, bare)) => format!("{}.{}", quote_ident(schema), quote_ident(bare)),
        None => quote_ident(name),
    }
}

/// Columns as a comma-separated list, each through [`quote_ident`].
pub(super) fn ident_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A column's SQL type: sqlx's name for it (`TEXT`, `INT4[]`, `"CHAR"`,
/// `book_status`) as it is, unless it holds anything but letters, digits,
/// `_`, `.`, spaces, `[]` and `"`, in which case it is quoted as one
/// identifier (no type name can end the statement or add to it).
pub(super) fn sql_type(ty: &str) -> String {
    let safe = !ty.is_empty()
        && ty
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ' ' | '[' | ']' | '"'));
    if safe { ty.to_owned() } else { quote_ident(ty) }
}

#[cfg(test)]
mod tests {
    use crate::schema::{Column, ForeignKey, Index, Need, Table};

    #[test]
    fn reserved_words_are_sorted_lower_case_and_quoted() {
        assert!(super::RESERVED.windows(2).all(|w| w[0] < w[1]));
        for word in super::RESERVED {
            assert_eq!(super::quote_ident(word), format!("\"{word}\""));
        }
        assert_eq!(super::qualified("app.order"), "app.\"order\"");
        assert_eq!(super::qualified("user"), "\"user\"");
        assert_eq!(super::sql_type("INT4[]"), "INT4[]");
        assert_eq!(super::sql_type("x; DROP TABLE t"), "\"x; DROP TABLE t\"");
    }

    #[test]
    fn composite_keys_are_table_constraints_and_indexes_print_once() {
        let index = |cols: &[&str]| Index {
            leading: cols.iter().map(|c| (*c).to_owned()).collect(),
            columns: cols.iter().map(|c| (*c).to_owned()).collect(),
            purpose: "test".into(),
        };
        let table = Table::new("app.lines")
            .column(Column::of::<i64>("order_id", Need::NotNull))
            .column(Column::of::<i32>("line", Need::NotNull))
            .column(Column::of::<Option<String>>("note", Need::Nullable))
            .column(Column::of::<bool>("done", Need::NotNull).default("FALSE"))
            .primary_key(&["order_id", "line"])
            .unique(&["note", "line"])
            .foreign_key(ForeignKey {
                columns: vec!["order_id".into(), "line".into()],
                references: "app.plans".into(),
                referenced_columns: vec!["order_id".into(), "line".into()],
            })
            .index(index(&["note", "order_id"]))
            .index(index(&["note", "order_id"]));
        assert_eq!(
            super::create_table(&table),
            "CREATE TABLE app.lines (\n  order_id INT8 NOT NULL,\n  line INT4 NOT NULL,\n  \
             note TEXT,\n  done BOOL NOT NULL DEFAULT FALSE,\n  PRIMARY KEY (order_id, line),\n  \
             UNIQUE (note, line),\n  FOREIGN KEY (order_id, line) REFERENCES app.plans (order_id, line)\n);\n\
             CREATE INDEX lines_note_order_id_idx ON app.lines (note, order_id);\n"
        );
    }
}
