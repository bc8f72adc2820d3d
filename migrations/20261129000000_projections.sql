-- Checkpointed projections (book/src/projections.md, tests/it/projections.rs).

-- ANCHOR: checkpoints
-- One row per projection name: the last event it processed, NULL before
-- the first. Runners create their row; `es_entity::projection::rebuild`
-- resets it.
CREATE TABLE es_projections (
  name VARCHAR PRIMARY KEY,
  transaction_id BIGINT,
  position BIGINT,
  events_processed BIGINT NOT NULL DEFAULT 0,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  CHECK ((transaction_id IS NULL) = (position IS NULL))
);
-- ANCHOR_END: checkpoints

-- ANCHOR: notify
-- Wakes runners when a transaction that wrote events commits: the payload
-- is the table and the writing transaction. Once per statement, and
-- PostgreSQL sends identical notifications of one transaction once.
CREATE FUNCTION es_feed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('es_feed', TG_TABLE_NAME || ' ' || pg_current_xact_id()::TEXT);
  RETURN NULL;
END $$;

CREATE TRIGGER ledger_account_events_notify AFTER INSERT ON ledger_account_events
  FOR EACH STATEMENT EXECUTE FUNCTION es_feed_notify();
-- ANCHOR_END: notify
CREATE TRIGGER ledger_note_events_notify AFTER INSERT ON ledger_note_events
  FOR EACH STATEMENT EXECUTE FUNCTION es_feed_notify();

-- ANCHOR: balances
-- The book's read model: one row per account.
CREATE TABLE ledger_balances (
  account_id UUID PRIMARY KEY,
  balance BIGINT NOT NULL,
  version INT NOT NULL
);
-- ANCHOR_END: balances

-- The tests' read model: per projection and entity, how many events were
-- applied, the last sequence and a balance, to compare with a replay.
CREATE TABLE projection_entities (
  projection VARCHAR NOT NULL,
  entity_id UUID NOT NULL,
  last_sequence INT NOT NULL,
  events BIGINT NOT NULL,
  balance BIGINT NOT NULL,
  PRIMARY KEY (projection, entity_id)
);

-- An entity type of its own for the corrupt-row test, so no other reader
-- of the feed meets the row it breaks.
CREATE TABLE projection_probes (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE projection_probe_events (
  id UUID NOT NULL REFERENCES projection_probes(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  transaction_id XID8 NOT NULL DEFAULT pg_current_xact_id(),
  position BIGINT NOT NULL DEFAULT nextval('es_feed_position'),
  UNIQUE(id, sequence)
);
CREATE INDEX projection_probe_events_feed ON projection_probe_events (transaction_id, position);
CREATE TRIGGER projection_probe_events_notify AFTER INSERT ON projection_probe_events
  FOR EACH STATEMENT EXECUTE FUNCTION es_feed_notify();
