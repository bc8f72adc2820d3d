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
