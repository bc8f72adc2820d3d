-- `Specimen` (tests/it/reliability_bad_data.rs, reliability_text.rs): the
-- entity whose rows the reliability tests write by hand with plain SQL, so
-- malformed histories never disturb the tables other tests read.
CREATE TABLE specimens (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  -- not unique and not in a b-tree (a b-tree entry holds at most ~2.7 kB):
  -- the text tests store names of 1 MiB and find them through this hash index
  name TEXT NOT NULL
);

CREATE INDEX specimens_name_hash_idx ON specimens USING hash (name);

CREATE TABLE specimen_events (
  -- deliberately no REFERENCES specimens(id): the tests store events without
  -- an index row, as a schema without that foreign key would allow
  id UUID NOT NULL,
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);
