-- The tables of src/lib.rs, the library that uses every `#[es_repo]` option.

CREATE SEQUENCE IF NOT EXISTS es_feed_position;

-- `Orders`: `tbl_prefix = "shop"`, `delete = "soft"`, `feed`.
CREATE TABLE shop_orders (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  customer VARCHAR NOT NULL,
  reference VARCHAR NOT NULL UNIQUE,
  note VARCHAR,
  total BIGINT NOT NULL DEFAULT 0,
  deleted BOOLEAN NOT NULL DEFAULT FALSE,
  -- Counted by the post-persist hook.
  writes BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE shop_order_events (
  id UUID NOT NULL REFERENCES shop_orders(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  transaction_id XID8 NOT NULL DEFAULT pg_current_xact_id(),
  position BIGINT NOT NULL DEFAULT nextval('es_feed_position'),
  UNIQUE(id, sequence)
);
CREATE INDEX shop_order_events_feed ON shop_order_events (transaction_id, position);

-- `Parcels`: `tbl = "parcel_index"`, `events_tbl = "parcel_log"`.
CREATE TABLE parcel_index (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  order_id UUID NOT NULL REFERENCES shop_orders(id),
  label VARCHAR NOT NULL
);

CREATE TABLE parcel_log (
  id UUID NOT NULL REFERENCES parcel_index(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);
