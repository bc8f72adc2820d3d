-- `Account` (tests/it/book_retry.rs): retries and the concurrency torture tests.
CREATE TABLE accounts (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  name VARCHAR NOT NULL UNIQUE,
  balance BIGINT NOT NULL
);

CREATE TABLE account_events (
  id UUID NOT NULL REFERENCES accounts(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);
