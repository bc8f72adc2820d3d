-- create_or_find (tests/it/create_or_find.rs, book/src/create.md): a handle
-- and an optional email, each unique, on a soft-deleting repository.
CREATE TABLE handles (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  handle VARCHAR NOT NULL UNIQUE,
  email VARCHAR UNIQUE,
  deleted BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE handle_events (
  id UUID NOT NULL REFERENCES handles(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);
