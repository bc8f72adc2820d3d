-- `Slot`: index columns named like the words the generated bulk SQL uses
-- itself (`ordinality` is what `WITH ORDINALITY` calls a row's position;
-- `k`, `doc` and `r` are aliases inside create_all), so a clash would show
-- (tests/it/sql_names.rs).
CREATE TABLE slots (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  ordinality BIGINT NOT NULL,
  k VARCHAR NOT NULL,
  doc VARCHAR NOT NULL,
  r VARCHAR NOT NULL
);

CREATE TABLE slot_events (
  id UUID NOT NULL REFERENCES slots(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);
