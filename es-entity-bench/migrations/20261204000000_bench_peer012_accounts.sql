-- The account tables of the fourth implementation, peer012 (es-entity
-- 0.12.10 from crates.io, es-entity-bench/peer012): the same shape as the
-- other three's in 20261201000000_bench_accounts.sql. Idempotent, like every
-- bench migration (applied by the build scripts and again at start-up).

CREATE TABLE IF NOT EXISTS bench_peer012_accounts (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  name VARCHAR NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS bench_peer012_accounts_name_id_idx ON bench_peer012_accounts (name, id);
CREATE TABLE IF NOT EXISTS bench_peer012_account_events (
  id UUID NOT NULL REFERENCES bench_peer012_accounts(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);
