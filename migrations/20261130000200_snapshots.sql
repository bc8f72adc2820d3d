-- `Ledger` (tests/it/snapshots.rs, the book's Snapshots chapter): a
-- repository with `#[es_repo(snapshot)]`, its snapshots in their own table.
CREATE TABLE ledgers (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  name VARCHAR NOT NULL,
  owner VARCHAR NOT NULL
);
CREATE INDEX ledgers_created_at_id_idx ON ledgers (created_at, id);
CREATE INDEX ledgers_name_id_idx ON ledgers (name, id);
CREATE INDEX ledgers_owner_id_idx ON ledgers (owner, id);

CREATE TABLE ledger_events (
  id UUID NOT NULL REFERENCES ledgers(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

-- ANCHOR: snapshot_table
-- One row per entity: the latest snapshot, covering events 1..sequence.
CREATE TABLE ledger_snapshots (
  id UUID PRIMARY KEY REFERENCES ledgers(id),
  sequence INT NOT NULL,
  version INT NOT NULL,
  snapshot JSONB NOT NULL,
  first_recorded_at TIMESTAMPTZ NOT NULL,
  recorded_at TIMESTAMPTZ NOT NULL
);
-- ANCHOR_END: snapshot_table
