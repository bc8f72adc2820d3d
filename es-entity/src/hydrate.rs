//! Hydration: rebuilding entities from the event rows a read returned,
//! checking that each entity's events run 1, 2, 3, ... and decode.

use crate::error::{EntityHydrationError, HydrationFailure};
use crate::event_json::EventPayload;
use crate::events::{EntityEvents, EsEvent, GenericEvent, PersistedEvent};
use crate::traits::EsEntity;

impl<E: EsEvent> EntityEvents<E> {
    /// Hydrates the first entity from rows ordered by `(id, sequence)`.
    ///
    /// Fails with [`HydrationFailure::NotFound`] when there is no row.
    pub fn load_first<T: EsEntity<Event = E>>(
        rows: impl IntoIterator<Item = GenericEvent<E::EntityId, impl EventPayload<E>>>,
    ) -> Result<T, EntityHydrationError> {
        match Self::load_n::<T>(rows, 1)?.0.pop() {
            Some(entity) => Ok(entity),
            None => Err(EntityHydrationError::new(
                None,
                None,
                HydrationFailure::NotFound,
            )),
        }
    }

    /// Hydrates up to `n` entities from rows grouped by entity (each group
    /// ordered by `sequence`). The flag says whether rows of more entities followed.
    pub fn load_n<T: EsEntity<Event = E>>(
        rows: impl IntoIterator<Item = GenericEvent<E::EntityId, impl EventPayload<E>>>,
        n: usize,
    ) -> Result<(Vec<T>, bool), EntityHydrationError> {
        let rows: Vec<_> = rows.into_iter().collect();
        // Each entity's events are one run of rows with its id: knowing the
        // runs sizes every history once instead of growing it event by event.
        let mut runs = Vec::new();
        let mut start = 0;
        while start < rows.len() {
            let id = &rows[start].entity_id;
            let len = rows[start..]
                .iter()
                .take_while(|r| &r.entity_id == id)
                .count();
            runs.push(len);
            start += len;
        }
        let mut runs = runs.into_iter();
        let mut out = Vec::new();
        let mut current: Option<Self> = None;
        for row in rows {
            let starts_new = current.as_ref().is_none_or(|c| c.id() != &row.entity_id);
            if starts_new {
                if let Some(done) = current.take() {
                    out.push(T::try_from_events(done)?);
                }
                if out.len() == n {
                    return Ok((out, true));
                }
                let run = runs.next().unwrap_or(0);
                current = Some(Self::with_capacity(row.entity_id.clone(), run));
            }
            let events = current.as_mut().expect("set above");
            events.push_row(row)?;
        }
        if let Some(done) = current.take() {
            out.push(T::try_from_events(done)?);
        }
        Ok((out, false))
    }

    /// Appends stored events this history had missed (the rows after its
    /// last persisted event, in sequence order), checking that each one
    /// continues the sequence and reads back.
    pub(crate) fn push_missed(
        &mut self,
        rows: impl IntoIterator<Item = GenericEvent<E::EntityId, impl EventPayload<E>>>,
    ) -> Result<(), EntityHydrationError> {
        rows.into_iter().try_for_each(|row| self.push_row(row))
    }

    fn push_row(
        &mut self,
        row: GenericEvent<E::EntityId, impl EventPayload<E>>,
    ) -> Result<(), EntityHydrationError> {
        let expected = self.len_persisted() + 1;
        let fail = |failure| {
            Err(EntityHydrationError::new(
                Some(row.entity_id.to_string()),
                Some(i64::from(row.sequence)),
                failure,
            ))
        };
        if row.sequence == 0 && expected == 1 {
            // The read's LEFT JOIN found an index row without events.
            return Err(EntityHydrationError::new(
                Some(row.entity_id.to_string()),
                None,
                HydrationFailure::NoEvents,
            ));
        }
        if usize::try_from(row.sequence).ok() != Some(expected) {
            return fail(HydrationFailure::SequenceGap {
                expected,
                found: i64::from(row.sequence),
            });
        }
        let event = match row.event.into_event() {
            Ok(event) if event.event_type() == row.event_type => event,
            Ok(event) => {
                return fail(HydrationFailure::EventTypeMismatch {
                    stored: row.event_type,
                    decoded: event.event_type(),
                });
            }
            Err(_) if !E::EVENT_TYPES.contains(&row.event_type.as_str()) => {
                return fail(HydrationFailure::UnknownEventType(row.event_type));
            }
            Err(err) => return fail(HydrationFailure::BadEvent(err)),
        };
        self.push_persisted(PersistedEvent {
            entity_id: row.entity_id,
            sequence: expected,
            recorded_at: row.recorded_at,
            event,
            context: row.context,
        });
        Ok(())
    }
}
