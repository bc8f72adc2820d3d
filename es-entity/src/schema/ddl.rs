//! The SQL text of a schema: `CREATE` statements for a first migration,
//! and the one-statement fixes the drift check prints.
//!
//! Tables, columns and sequences are written as the repository names them
//! (plain identifiers, checked by the derive); names read from the catalog
//! go through [`ident`].

use super::{Column, Index, Need, RepoSchema, Table};

/// The `CREATE SEQUENCE`, `CREATE TABLE` and `CREATE INDEX` statements of
/// several repositories, each table and sequence once, in the order the
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
    let mut tables: Vec<&str> = Vec::new();
    for table in repos.iter().flat_map(|r| r.tables.iter()) {
        if tables.contains(&table.name.as_str()) {
            continue;
        }
        tables.push(&table.name);
        out.push(create_table(table));
    }
    out.join("\n")
}

/// `CREATE SEQUENCE IF NOT EXISTS name;` (several feeds share one).
pub(super) fn create_sequence(name: &str) -> String {
    format!("CREATE SEQUENCE IF NOT EXISTS {name};\n")
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
                line = format!("  {} {} PRIMARY KEY", c.name, c.sql_type);
            }
            if let Some(fk) = table
                .foreign_keys
                .iter()
                .find(|fk| fk.columns.len() == 1 && fk.columns[0] == c.name)
            {
                line.push_str(&format!(
                    " REFERENCES {} ({})",
                    fk.references,
                    fk.referenced_columns.join(", ")
                ));
            }
            line
        })
        .collect();
    if table.primary_key.len() > 1 {
        lines.push(format!("  PRIMARY KEY ({})", table.primary_key.join(", ")));
    }
    for key in &table.uniques {
        let inline = key.len() == 1 && table.columns.iter().any(|c| c.unique && c.name == key[0]);
        if !inline {
            lines.push(format!("  UNIQUE ({})", key.join(", ")));
        }
    }
    for fk in table.foreign_keys.iter().filter(|fk| fk.columns.len() != 1) {
        lines.push(format!(
            "  FOREIGN KEY ({}) REFERENCES {} ({})",
            fk.columns.join(", "),
            fk.references,
            fk.referenced_columns.join(", ")
        ));
    }
    let mut out = format!("CREATE TABLE {} (\n{}\n);\n", table.name, lines.join(",\n"));
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
    let mut def = format!("{} {}", c.name, c.sql_type);
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
    format!(
        "CREATE INDEX {}_{}_idx ON {} ({});\n",
        table.bare_name(),
        index.columns.join("_"),
        table.name,
        index.columns.join(", ")
    )
}

/// `ALTER TABLE t ADD COLUMN ...` for a missing column (its unique key is
/// a difference of its own).
pub(super) fn add_column(table: &Table, c: &Column) -> String {
    let mut def = format!("{} {}", c.name, c.sql_type);
    if c.need == Need::NotNull {
        def.push_str(" NOT NULL");
    }
    if let Some(expr) = &c.default {
        def.push_str(&format!(" DEFAULT {expr}"));
    }
    format!("ALTER TABLE {} ADD COLUMN {def};", table.name)
}

/// A catalog name as SQL: bare when it is a plain lower-case identifier,
/// quoted otherwise.
pub(super) fn ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use crate::schema::{Column, ForeignKey, Index, Need, Table};

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
