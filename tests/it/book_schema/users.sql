CREATE TABLE users (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  name TEXT NOT NULL
);
CREATE INDEX users_created_at_id_idx ON users (created_at, id);

CREATE TABLE user_events (
  id UUID NOT NULL REFERENCES users (id),
  sequence INT4 NOT NULL,
  event_type TEXT NOT NULL,
  event JSONB NOT NULL,
  context JSONB,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE (id, sequence)
);

-- es_entity_stream_tail: the function `update_unchecked` (and every write
-- that appends after whatever a stream holds) calls once the entity's index
-- row is locked. It returns the stream's version (its last sequence, 0 when
-- it has no event) and the events stored after `after`, one row each (one
-- row with NULL event columns when there are none).
--
-- It must stay VOLATILE: under READ COMMITTED a volatile function takes a
-- fresh snapshot for each query it runs, so, called after the lock was
-- granted, it sees the events of every writer that held the lock before,
-- which the calling statement's own snapshot (taken before it waited) does
-- not. `es_entity::schema::check` reports it missing, or declared otherwise.
CREATE OR REPLACE FUNCTION es_entity_stream_tail(events REGCLASS, id ANYELEMENT, after INT4)
RETURNS TABLE (version INT4, sequence INT4, event_type TEXT, event JSONB, context JSONB, recorded_at TIMESTAMPTZ)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT v.version, e.sequence::INT4, e.event_type::TEXT, e.event::JSONB, e.context::JSONB, e.recorded_at::TIMESTAMPTZ '
        'FROM (SELECT COALESCE(MAX(x.sequence), 0)::INT4 AS version FROM %s x WHERE x.id = $1) v '
        'LEFT JOIN %s e ON e.id = $1 AND e.sequence > $2 ORDER BY e.sequence',
        events, events)
    USING id, after;
END
$$;
