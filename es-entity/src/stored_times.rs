//! Whether a hydration read the times its events were stored at.
//!
//! `create_all` hydrates its new entities before its statement runs (nothing
//! that does not hydrate is stored), with the time it expects the events to
//! be stored at. On the pool that is not known until the statement returns
//! the server's `NOW()`. An entity whose `try_from_events` never looked at a
//! stored time cannot differ from one hydrated with the right time, so its
//! events only get the stored time written in; one that did look is hydrated
//! again. Every way a history shows its stored times counts as looking:
//! `iter_persisted`, `last_persisted`, `entity_first_persisted_at`,
//! `entity_last_modified_at`, `Clone` and `Debug`.

use std::cell::Cell;

thread_local! {
    static READ: Cell<bool> = const { Cell::new(false) };
}

/// Notes that code on this thread read a stored time of some history.
#[inline]
pub(crate) fn note_read() {
    READ.set(true);
}

/// Runs `hydrate` (a `try_from_events`, which is synchronous, so on this
/// thread) and tells whether it read a stored time. A read inside also
/// counts for an enclosing `watch`.
pub(crate) fn watch<R>(hydrate: impl FnOnce() -> R) -> (R, bool) {
    let outer = READ.replace(false);
    let out = hydrate();
    let read = READ.replace(outer);
    if read {
        READ.set(true);
    }
    (out, read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watch_sees_the_reads_inside_it_and_passes_them_out() {
        let ((), quiet) = watch(|| ());
        assert!(!quiet);
        let (inner, outer) = watch(|| watch(note_read).1);
        assert!(inner);
        assert!(outer);
        // A read before a watch is not the watch's.
        note_read();
        let ((), after) = watch(|| ());
        assert!(!after);
    }
}
