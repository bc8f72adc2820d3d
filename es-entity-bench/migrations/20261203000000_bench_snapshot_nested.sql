-- Tables of the snapshot and nested workloads (`--only snapshot`,
-- `--only nested`, src/deep.rs). Applied like the accounts tables: by the
-- build scripts and at start-up, every statement idempotent.
--
-- Snapshots: one index table + events table + snapshot table per
-- implementation. The snapshot-on and snapshot-off repositories of ours and
-- the peer read the same rows (a repository without `snapshot` ignores the
-- snapshot table), so a 10,000-event meter is stored once per
-- implementation. The snapshot tables differ as the two libraries do: ours
-- keys a row's usability on `version` (EsSnapshot::VERSION), the peer's on
-- `fingerprint` (a hash of the state type's fields and version).

CREATE TABLE IF NOT EXISTS bench_ours_meters (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS bench_ours_meter_events (
  id UUID NOT NULL REFERENCES bench_ours_meters(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);
CREATE TABLE IF NOT EXISTS bench_ours_meter_snapshots (
  id UUID PRIMARY KEY REFERENCES bench_ours_meters(id),
  sequence INT NOT NULL,
  version INT NOT NULL,
  snapshot JSONB NOT NULL,
  first_recorded_at TIMESTAMPTZ NOT NULL,
  recorded_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS bench_floor_meters (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS bench_floor_meter_events (
  id UUID NOT NULL REFERENCES bench_floor_meters(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);
CREATE TABLE IF NOT EXISTS bench_floor_meter_snapshots (
  id UUID PRIMARY KEY REFERENCES bench_floor_meters(id),
  sequence INT NOT NULL,
  version INT NOT NULL,
  snapshot JSONB NOT NULL,
  recorded_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS bench_peer_meters (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS bench_peer_meter_events (
  id UUID NOT NULL REFERENCES bench_peer_meters(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);
CREATE TABLE IF NOT EXISTS bench_peer_meter_snapshots (
  id UUID PRIMARY KEY REFERENCES bench_peer_meters(id),
  sequence INT NOT NULL,
  fingerprint BIGINT NOT NULL,
  snapshot JSONB NOT NULL,
  first_recorded_at TIMESTAMPTZ NOT NULL,
  recorded_at TIMESTAMPTZ NOT NULL
);

-- Nested: an order (parent) and its lines (children), each with its own
-- index and events tables; `order_id` is the parent key the tree read joins
-- on (indexed, as a careful schema would).

CREATE TABLE IF NOT EXISTS bench_ours_orders (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS bench_ours_order_events (
  id UUID NOT NULL REFERENCES bench_ours_orders(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);
CREATE TABLE IF NOT EXISTS bench_ours_lines (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  order_id UUID NOT NULL REFERENCES bench_ours_orders(id)
);
CREATE INDEX IF NOT EXISTS bench_ours_lines_order_id_idx ON bench_ours_lines (order_id);
CREATE TABLE IF NOT EXISTS bench_ours_line_events (
  id UUID NOT NULL REFERENCES bench_ours_lines(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

CREATE TABLE IF NOT EXISTS bench_floor_orders (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS bench_floor_order_events (
  id UUID NOT NULL REFERENCES bench_floor_orders(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);
CREATE TABLE IF NOT EXISTS bench_floor_lines (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  order_id UUID NOT NULL REFERENCES bench_floor_orders(id)
);
CREATE INDEX IF NOT EXISTS bench_floor_lines_order_id_idx ON bench_floor_lines (order_id);
CREATE TABLE IF NOT EXISTS bench_floor_line_events (
  id UUID NOT NULL REFERENCES bench_floor_lines(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

CREATE TABLE IF NOT EXISTS bench_peer_orders (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS bench_peer_order_events (
  id UUID NOT NULL REFERENCES bench_peer_orders(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);
CREATE TABLE IF NOT EXISTS bench_peer_lines (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  order_id UUID NOT NULL REFERENCES bench_peer_orders(id)
);
CREATE INDEX IF NOT EXISTS bench_peer_lines_order_id_idx ON bench_peer_lines (order_id);
CREATE TABLE IF NOT EXISTS bench_peer_line_events (
  id UUID NOT NULL REFERENCES bench_peer_lines(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);
