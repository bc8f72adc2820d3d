//! [`ExpectedVersion`]: what a write expects of the entity's stream, and
//! [`UncheckedWrite`], what a last-writer-wins write reports.

use crate::traits::EsEntity;

/// What a write expects of the entity's stream of events, with the
/// semantics of KurrentDB's expected version. A stream's *version* is the
/// number of events it holds, which is also the sequence of its last event
/// (sequences run from 1 without gaps); an entity loaded from the store is at
/// version `entity.events().len_persisted()`.
///
/// Passed to a repository's `update_expecting` and `update_expecting_in_op`,
/// and per entity (from a closure) to `update_all_expecting` and
/// `update_all_expecting_in_op`, where a batch may mix them in its one
/// statement:
///
/// - [`Exact(n)`](Self::Exact): the stream holds exactly `n` events. If the
///   entity was loaded at another version, or the stream moved since, the
///   write fails with `ModifyError::ConcurrentModification` and nothing is
///   written.
/// - [`NoStream`](Self::NoStream): the entity must not exist yet, the same as
///   `Exact(0)`. Creating is the write that expects no stream (`create`
///   fails on a duplicate id); an update always targets an existing entity,
///   so with `NoStream` it fails: with `ConcurrentModification` (expected
///   version 0) when the stream exists, with `EntityNotFound` when it does
///   not (there is no index row to update: use `create`).
/// - [`StreamExists`](Self::StreamExists): the entity must exist, at any
///   version; the events are appended after whatever the stream holds, as
///   `update_unchecked` does. A missing entity is `EntityNotFound`.
/// - [`Any`](Self::Any): no check. For an update this is the same as
///   `StreamExists`: an update cannot create the entity's index row, so a
///   missing entity is `EntityNotFound` here too.
///
/// ```
/// use es_entity::ExpectedVersion;
/// assert_eq!(ExpectedVersion::NoStream.exact(), Some(0));
/// assert_eq!(ExpectedVersion::Exact(5).exact(), Some(5));
/// assert_eq!(ExpectedVersion::Any.exact(), None);
/// assert!(!ExpectedVersion::StreamExists.is_checked());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpectedVersion {
    /// The stream holds exactly this many events.
    Exact(usize),
    /// The stream does not exist (holds no event).
    NoStream,
    /// The stream exists, at any version.
    StreamExists,
    /// No expectation.
    Any,
}

impl ExpectedVersion {
    /// `Exact` at the version `entity` was loaded at (its persisted events):
    /// what a plain `update` expects.
    pub fn of<T: EsEntity>(entity: &T) -> Self {
        Self::Exact(entity.events().len_persisted())
    }

    /// The exact version this expectation requires: `Some(n)` for
    /// `Exact(n)`, `Some(0)` for `NoStream`, `None` for the two that accept
    /// any version.
    pub fn exact(self) -> Option<usize> {
        match self {
            Self::Exact(n) => Some(n),
            Self::NoStream => Some(0),
            Self::StreamExists | Self::Any => None,
        }
    }

    /// Whether the write can lose a race: `Exact` and `NoStream`.
    pub fn is_checked(self) -> bool {
        self.exact().is_some()
    }
}

impl From<usize> for ExpectedVersion {
    /// `Exact(n)`: a batch's closure (`update_all_expecting`) can return
    /// plain versions, as a read model records them.
    ///
    /// ```
    /// use es_entity::ExpectedVersion;
    /// assert_eq!(ExpectedVersion::from(3), ExpectedVersion::Exact(3));
    /// ```
    fn from(n: usize) -> Self {
        Self::Exact(n)
    }
}

/// What a last-writer-wins write (`update_unchecked`, `update_all_unchecked`)
/// did; for a batch, the sums over its entities.
///
/// ```
/// use es_entity::UncheckedWrite;
/// let done = UncheckedWrite { written: 2, missed: 0 };
/// assert!(!done.refreshed());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UncheckedWrite {
    /// How many events this write appended.
    pub written: usize,
    /// How many events other writers had stored since the entity was
    /// loaded. The new events were appended after them, and the entity was
    /// rebuilt from its whole history, so its fields reflect them too. The
    /// index row took the column values this writer had computed before the
    /// rebuild (last writer wins); the entity's next write refreshes them.
    pub missed: usize,
}

impl UncheckedWrite {
    /// Whether the entity was rebuilt because it had missed events.
    pub fn refreshed(&self) -> bool {
        self.missed > 0
    }
}
