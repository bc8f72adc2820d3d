//! Rules spanning several columns.

use super::column::Column;
use super::repo::{Filter, Sort, filter_sorts};

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

/// `list_for` columns, each with the listing orders it combines with; a
/// `list_for(by(x))` must name a `list_by` column (or `id` / `created_at`).
pub(crate) fn filters(
    cols: &[Column],
    sorts: &[Sort],
    errs: &mut darling::error::Accumulator,
) -> Vec<Filter> {
    cols.iter()
        .filter_map(|c| {
            let list_for = c.list_for.as_ref()?;
            Some(Filter {
                name: c.name.clone(),
                ty: c.ty.clone(),
                check: c.check,
                nullable: c.nullable,
                by: filter_sorts(list_for, sorts, errs),
            })
        })
        .collect()
}
