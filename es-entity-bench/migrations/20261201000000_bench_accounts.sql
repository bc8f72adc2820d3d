-- Tables of the benchmark (es-entity-bench). Applied by the benchmark's build
-- scripts (the query macros check against them) and again at start-up, so
-- every statement is idempotent. They are NOT in the test suite's
-- migrations: the bench keeps its rows apart from the tests and truncates
-- them at every start.
--
-- One index table + events table per implementation, identical in shape:
-- ours (our #[derive(EsRepo)]), floor (hand-written sqlx), peer (es-entity
-- from crates.io). Same columns as the book's tables chapter; the events
-- table has the nullable `context` column both libraries know. The fourth
-- implementation's (peer012) are in 20261204000000_bench_peer012_accounts.sql.

CREATE TABLE IF NOT EXISTS bench_ours_accounts (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  name VARCHAR NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS bench_ours_accounts_name_id_idx ON bench_ours_accounts (name, id);
CREATE TABLE IF NOT EXISTS bench_ours_account_events (
  id UUID NOT NULL REFERENCES bench_ours_accounts(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

CREATE TABLE IF NOT EXISTS bench_floor_accounts (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  name VARCHAR NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS bench_floor_accounts_name_id_idx ON bench_floor_accounts (name, id);
CREATE TABLE IF NOT EXISTS bench_floor_account_events (
  id UUID NOT NULL REFERENCES bench_floor_accounts(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

CREATE TABLE IF NOT EXISTS bench_peer_accounts (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  name VARCHAR NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS bench_peer_accounts_name_id_idx ON bench_peer_accounts (name, id);
CREATE TABLE IF NOT EXISTS bench_peer_account_events (
  id UUID NOT NULL REFERENCES bench_peer_accounts(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);
