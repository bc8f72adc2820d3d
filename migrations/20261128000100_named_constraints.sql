-- `Badge`: every constraint named by hand, none by PostgreSQL's defaults,
-- so a write's error can only be classified from the catalog (which columns
-- each constraint covers), never from its name or its message
-- (tests/it/conflicts_any_language.rs).
CREATE TABLE badges (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  code VARCHAR NOT NULL CONSTRAINT badge_code_taken UNIQUE,
  holder_id UUID CONSTRAINT badge_holder_is_a_member REFERENCES members(id),
  points INT NOT NULL CONSTRAINT badge_points_not_negative CHECK (points >= 0),
  label VARCHAR NOT NULL
);

-- A unique index on an expression: a duplicate, on no single column.
CREATE UNIQUE INDEX badge_label_any_case ON badges (lower(label));

CREATE TABLE badge_events (
  id UUID NOT NULL REFERENCES badges(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  CONSTRAINT badge_event_version UNIQUE (id, sequence)
);
