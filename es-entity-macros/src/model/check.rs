//! Rules spanning several columns or options. They only report: the values
//! they check are built in `column`, `listing` and `repo`.

use super::column::{Column, ListFor};
use super::listing::{Sort, sort_named};

/// Column names the index table reserves.
const IMPLICIT: &[&str] = &["id", "created_at"];

/// No column is implicit or declared twice.
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

/// A `list_for(by(x))` names a listing order: a `list_by` column, `id` or `created_at`.
pub(crate) fn list_for_orders(
    cols: &[Column],
    sorts: &[Sort],
    errs: &mut darling::error::Accumulator,
) {
    for col in cols {
        let Some(ListFor::By(names)) = &col.list_for else {
            continue;
        };
        for n in names {
            if sort_named(sorts, n).is_none() {
                errs.push(
                    darling::Error::custom(format!(
                        "`{n}` is not a listing order: add `list_by` to column `{n}`"
                    ))
                    .with_span(n),
                );
            }
        }
    }
}
