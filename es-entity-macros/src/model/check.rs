//! Rules spanning several columns.

use super::column::Column;

/// Column names the index table reserves.
const IMPLICIT: &[&str] = &["id", "created_at"];

pub(crate) fn columns(cols: &[Column], errs: &mut darling::error::Accumulator) {
    for (i, col) in cols.iter().enumerate() {
        let name = col.name.to_string();
        if IMPLICIT.contains(&name.as_str()) {
            errs.push(
                darling::Error::custom(format!(
                    "`{name}` is implicit in every index table; remove it from `columns`"
                ))
                .with_span(&col.name),
            );
        }
        if cols[..i].iter().any(|c| c.name == col.name) {
            errs.push(
                darling::Error::custom(format!("column `{name}` is declared twice"))
                    .with_span(&col.name),
            );
        }
    }
}
