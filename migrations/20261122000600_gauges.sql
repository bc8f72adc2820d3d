-- `Gauge`: a floating-point index column, for update_all's change detection
-- (tests/it/repo_bulk.rs), which must see the smallest change of a float.
CREATE TABLE gauges (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  reading DOUBLE PRECISION NOT NULL,
  label VARCHAR NOT NULL
);

CREATE TABLE gauge_events (
  id UUID NOT NULL REFERENCES gauges(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);
