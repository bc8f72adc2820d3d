//! `#[es_repo(snapshot[, snapshot_tbl = "..."])]`: validated into
//! [`SnapshotModel`], the table the snapshot reads and writes use.

use darling::error::Accumulator;

use super::tables;
use crate::attrs::parsed::Parsed;
use crate::attrs::quoted::Quoted;
use crate::attrs::switch::Switch;

/// A repository that stores snapshots.
pub(crate) struct SnapshotModel {
    /// The snapshot table: `snapshot_tbl`, or `<prefix><entity>_snapshots`.
    pub table: String,
}

impl super::repo::Repo {
    /// The snapshot table, when the repository stores snapshots.
    pub(crate) fn snapshot_tbl(&self) -> Option<&str> {
        self.snapshot.as_ref().map(|s| s.table.as_str())
    }
}

/// The options checked: `Some(None)` without `snapshot`, `Some(Some(tbl))`
/// with it (`tbl` the table if given), `None` after an error (pushed).
pub(crate) fn options(
    snapshot: Parsed<Switch>,
    snapshot_tbl: Option<Parsed<Quoted>>,
    errs: &mut Accumulator,
) -> Option<Option<Option<String>>> {
    let on = errs.handle(snapshot.0).map(Switch::is_present);
    let tbl = match snapshot_tbl {
        None => Some(None),
        Some(Parsed(parsed)) => {
            let lit = errs.handle(parsed)?.0;
            let name = errs.handle(tables::checked_name(&lit))?;
            if on == Some(false) {
                errs.push(
                    darling::Error::custom(
                        "`snapshot_tbl` names the snapshot table, but snapshots are off: add `snapshot`",
                    )
                    .with_span(&lit),
                );
                return None;
            }
            Some(Some(name))
        }
    };
    let (on, tbl) = (on?, tbl?);
    Some(on.then_some(tbl))
}

/// The model of the checked options.
pub(crate) fn build(
    options: Option<Option<String>>,
    prefix: &str,
    entity_name: &str,
) -> Option<SnapshotModel> {
    options.map(|tbl| SnapshotModel {
        table: tbl.unwrap_or_else(|| tables::default_snapshots(prefix, entity_name)),
    })
}
