//! After a write's statement: its new events marked stored, or put back
//! among the new ones when its transaction does not commit, and an entity
//! brought up to date after a last-writer-wins write.

use chrono::{DateTime, Utc};

use crate::error::{EntityHydrationError, HydrationFailure};
use crate::events::{EntityEvents, EsEvent, GenericEvent};
use crate::expected_version::UncheckedWrite;
use crate::traits::{EsEntity, TryFromEvents};

/// What a repository's write does with an entity's events, and only it:
/// numbering the new ones for its statement, marking them stored once the
/// statement stored them, and putting them back among the new ones when its
/// transaction does not commit. Sealed: implemented for [`EntityEvents`]
/// only, and reached only through `__private`.
pub trait EntityEventsExt: sealed::Sealed {
    /// The event type.
    type Event;

    /// The new events with their sequence numbers (as the `INT4` column
    /// stores them), for a write to bind.
    fn new_events_for_insert(
        &self,
    ) -> impl ExactSizeIterator<Item = (i32, &Self::Event, Option<&serde_json::Value>)>;

    /// Marks every new event stored at `recorded_at`; returns how many
    /// there were.
    fn mark_new_events_persisted_at(&mut self, recorded_at: DateTime<Utc>) -> usize;

    /// Puts the last `n` stored events back among the new ones, before any
    /// new event.
    fn unmark_last_persisted(&mut self, n: usize);
}

impl<E: EsEvent> EntityEventsExt for EntityEvents<E> {
    type Event = E;

    fn new_events_for_insert(
        &self,
    ) -> impl ExactSizeIterator<Item = (i32, &E, Option<&serde_json::Value>)> {
        EntityEvents::new_events_for_insert(self)
    }

    fn mark_new_events_persisted_at(&mut self, recorded_at: DateTime<Utc>) -> usize {
        EntityEvents::mark_new_events_persisted_at(self, recorded_at)
    }

    fn unmark_last_persisted(&mut self, n: usize) {
        EntityEvents::unmark_last_persisted(self, n)
    }
}

mod sealed {
    pub trait Sealed {}
    impl<E: crate::events::EsEvent> Sealed for crate::events::EntityEvents<E> {}
}

/// After a last-writer-wins write: brings `entity` up to date with the
/// database. `missed` are the events other writers stored after the
/// entity's loaded version, and `version` is the stream's version the write
/// appended after. With nothing missed, the new events are marked stored
/// (sequences `version + 1..`); otherwise the whole history (loaded, missed,
/// new) is replayed into a new entity that replaces `entity`, so its fields
/// reflect the missed events too.
///
/// On failure the events are stored but `entity` could not be rebuilt: it
/// is left with an empty history, so that no later write can build on it.
pub fn refresh_after_unchecked<T: EsEntity>(
    entity: &mut T,
    missed: Vec<GenericEvent<<T::Event as EsEvent>::EntityId>>,
    version: i32,
    at: DateTime<Utc>,
) -> Result<UncheckedWrite, EntityHydrationError> {
    let events = entity.events_mut();
    // The stream's version as the statement read it: never negative unless
    // the stored rows are.
    let Ok(version) = usize::try_from(version) else {
        return Err(EntityHydrationError::new(
            Some(events.id().to_string()),
            Some(i64::from(version)),
            HydrationFailure::BadSequence(i64::from(version)),
        ));
    };
    if missed.is_empty() && events.len_persisted() == version {
        let written = events.mark_new_events_persisted_at(at);
        return Ok(UncheckedWrite { written, missed: 0 });
    }
    let id = events.id().clone();
    let mut history =
        std::mem::replace(events, EntityEvents::from_persisted(id.clone(), Vec::new()));
    let missed_n = missed.len();
    history.push_missed(missed)?;
    if history.len_persisted() != version {
        // The stream is behind what the entity was loaded at: not a history
        // this entity can continue.
        return Err(EntityHydrationError::new(
            Some(id.to_string()),
            None,
            HydrationFailure::SequenceGap {
                expected: history.len_persisted() + 1,
                found: i64::try_from(version + 1).unwrap_or(i64::MAX),
            },
        ));
    }
    let written = history.mark_new_events_persisted_at(at);
    if history.snapshot.base > 0 {
        // Loaded from a snapshot: the history it holds starts after it, so
        // it cannot be replayed. The events are stored; a reload sees them.
        return Err(EntityHydrationError::new(
            Some(id.to_string()),
            None,
            HydrationFailure::Invalid(
                "loaded from a snapshot and other writers' events were missed: reload it"
                    .to_owned(),
            ),
        ));
    }
    *entity = <T as TryFromEvents<T::Event>>::try_from_events(history)?;
    Ok(UncheckedWrite {
        written,
        missed: missed_n,
    })
}

/// Puts the `written` events an entity's write marked stored back among its
/// new events: the transaction holding them did not commit.
pub fn unmark<T: EsEntity>(entity: &mut T, written: usize) {
    entity.events_mut().unmark_last_persisted(written);
}

/// How many new events each entity of a batch has, before its write.
pub fn new_counts<T: EsEntity>(entities: &[T]) -> Vec<usize> {
    entities.iter().map(|e| e.events().len_new()).collect()
}

/// [`unmark`] for every entity of a batch, by the counts [`new_counts`]
/// took before the write.
pub fn unmark_all<T: EsEntity>(entities: &mut [T], counts: &[usize]) {
    for (entity, &written) in entities.iter_mut().zip(counts) {
        unmark(entity, written);
    }
}
