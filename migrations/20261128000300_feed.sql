-- The event feed (book/src/feed.md, tests/it/feed.rs): `LedgerAccount` and
-- `LedgerNote` take part in one global order. `ledger_account_events` is
-- created with the feed columns; `ledger_note_events` is created without
-- them and then migrated the way an existing events table is.

-- ANCHOR: sequence
-- One sequence for the positions of every events table in the feed.
CREATE SEQUENCE es_feed_position;
-- ANCHOR_END: sequence

CREATE TABLE ledger_accounts (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  name VARCHAR NOT NULL
);

-- ANCHOR: new_table
CREATE TABLE ledger_account_events (
  id UUID NOT NULL REFERENCES ledger_accounts(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  transaction_id XID8 NOT NULL DEFAULT pg_current_xact_id(),
  position BIGINT NOT NULL DEFAULT nextval('es_feed_position'),
  UNIQUE(id, sequence)
);
CREATE INDEX ledger_account_events_feed ON ledger_account_events (transaction_id, position);
-- ANCHOR_END: new_table

CREATE TABLE ledger_notes (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  account_id UUID NOT NULL REFERENCES ledger_accounts(id)
);

CREATE TABLE ledger_note_events (
  id UUID NOT NULL REFERENCES ledger_notes(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

-- ANCHOR: existing_table
-- Existing rows get this migration's transaction id and positions in the
-- order they were recorded; new rows get both from the defaults.
ALTER TABLE ledger_note_events
  ADD COLUMN transaction_id XID8,
  ADD COLUMN position BIGINT;
UPDATE ledger_note_events e
  SET transaction_id = pg_current_xact_id(), position = o.position
  FROM (
    SELECT id, sequence, nextval('es_feed_position') AS position
    FROM (SELECT id, sequence FROM ledger_note_events ORDER BY recorded_at, id, sequence) s
  ) o
  WHERE e.id = o.id AND e.sequence = o.sequence;
ALTER TABLE ledger_note_events
  ALTER COLUMN transaction_id SET DEFAULT pg_current_xact_id(),
  ALTER COLUMN transaction_id SET NOT NULL,
  ALTER COLUMN position SET DEFAULT nextval('es_feed_position'),
  ALTER COLUMN position SET NOT NULL;
CREATE INDEX ledger_note_events_feed ON ledger_note_events (transaction_id, position);
-- ANCHOR_END: existing_table
