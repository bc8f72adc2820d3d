-- Tables of the projection workloads (`cargo run --release -- --only
-- projection`, see book/src/performance.md). Applied like the accounts
-- tables: by the build scripts and at start-up, every statement idempotent.
--
-- The runner's checkpoint table must be called `es_projections`, and the
-- test suite's migrations (which the bench's default database also
-- receives) create `es_projections`, `es_feed_notify()` and the sequence
-- `es_feed_position` without IF NOT EXISTS. So the bench keeps its copies
-- in a schema of its own, `es_entity_bench`: the bench connects to it with
-- `search_path = es_entity_bench, public`, and nothing it creates can make
-- the tests' migrations fail, whichever runs first.

CREATE SCHEMA IF NOT EXISTS es_entity_bench;

-- Positions of every bench events table in the feed.
CREATE SEQUENCE IF NOT EXISTS es_entity_bench.es_feed_position;

-- The same table as migrations/20261129000000_projections.sql: ours
-- (`ProjectionRunner`) and the floor store their checkpoints here.
CREATE TABLE IF NOT EXISTS es_entity_bench.es_projections (
  name VARCHAR PRIMARY KEY,
  transaction_id BIGINT,
  position BIGINT,
  events_processed BIGINT NOT NULL DEFAULT 0,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  CHECK ((transaction_id IS NULL) = (position IS NULL))
);

-- The same trigger function as the projections migration.
CREATE OR REPLACE FUNCTION es_entity_bench.es_feed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('es_feed', TG_TABLE_NAME || ' ' || pg_current_xact_id()::TEXT);
  RETURN NULL;
END $$;

-- The followed entity (`#[es_repo(feed)]`): the accounts tables' shape plus
-- the feed columns, their index and the notify trigger. The catch-up
-- workload fills it once; the live-lag workload writes to it.
CREATE TABLE IF NOT EXISTS bench_proj_accounts (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  name VARCHAR NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS bench_proj_account_events (
  id UUID NOT NULL REFERENCES bench_proj_accounts(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  transaction_id XID8 NOT NULL DEFAULT pg_current_xact_id(),
  position BIGINT NOT NULL DEFAULT nextval('es_entity_bench.es_feed_position'),
  UNIQUE(id, sequence)
);
CREATE INDEX IF NOT EXISTS bench_proj_account_events_feed
  ON bench_proj_account_events (transaction_id, position);

-- The read models: one row per event. Ours (the projection's handler), the
-- floor (both of its variants) and the live-lag runner each write their own
-- table of this shape.
CREATE TABLE IF NOT EXISTS bench_proj_ours_rows (
  position BIGINT PRIMARY KEY,
  transaction_id BIGINT NOT NULL,
  entity_id UUID NOT NULL,
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  amount BIGINT NOT NULL,
  recorded_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS bench_proj_floor_rows (
  position BIGINT PRIMARY KEY,
  transaction_id BIGINT NOT NULL,
  entity_id UUID NOT NULL,
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  amount BIGINT NOT NULL,
  recorded_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS bench_proj_live_rows (
  position BIGINT PRIMARY KEY,
  transaction_id BIGINT NOT NULL,
  entity_id UUID NOT NULL,
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  amount BIGINT NOT NULL,
  recorded_at TIMESTAMPTZ NOT NULL
);

-- What the feed columns cost a single-entity write: the same entity on three
-- pairs of tables, without the feed columns, with them (and their index), and
-- with them and the notify trigger.
CREATE TABLE IF NOT EXISTS bench_cost_plain_accounts (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  name VARCHAR NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS bench_cost_plain_account_events (
  id UUID NOT NULL REFERENCES bench_cost_plain_accounts(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

CREATE TABLE IF NOT EXISTS bench_cost_columns_accounts (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  name VARCHAR NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS bench_cost_columns_account_events (
  id UUID NOT NULL REFERENCES bench_cost_columns_accounts(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  transaction_id XID8 NOT NULL DEFAULT pg_current_xact_id(),
  position BIGINT NOT NULL DEFAULT nextval('es_entity_bench.es_feed_position'),
  UNIQUE(id, sequence)
);
CREATE INDEX IF NOT EXISTS bench_cost_columns_account_events_feed
  ON bench_cost_columns_account_events (transaction_id, position);

CREATE TABLE IF NOT EXISTS bench_cost_feed_accounts (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  name VARCHAR NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS bench_cost_feed_account_events (
  id UUID NOT NULL REFERENCES bench_cost_feed_accounts(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  transaction_id XID8 NOT NULL DEFAULT pg_current_xact_id(),
  position BIGINT NOT NULL DEFAULT nextval('es_entity_bench.es_feed_position'),
  UNIQUE(id, sequence)
);
CREATE INDEX IF NOT EXISTS bench_cost_feed_account_events_feed
  ON bench_cost_feed_account_events (transaction_id, position);

-- The notify triggers (CREATE OR REPLACE TRIGGER needs PostgreSQL 14).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger
                 WHERE tgname = 'bench_proj_account_events_notify'
                   AND tgrelid = 'bench_proj_account_events'::regclass) THEN
    CREATE TRIGGER bench_proj_account_events_notify AFTER INSERT ON bench_proj_account_events
      FOR EACH STATEMENT EXECUTE FUNCTION es_entity_bench.es_feed_notify();
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_trigger
                 WHERE tgname = 'bench_cost_feed_account_events_notify'
                   AND tgrelid = 'bench_cost_feed_account_events'::regclass) THEN
    CREATE TRIGGER bench_cost_feed_account_events_notify AFTER INSERT ON bench_cost_feed_account_events
      FOR EACH STATEMENT EXECUTE FUNCTION es_entity_bench.es_feed_notify();
  END IF;
END $$;
