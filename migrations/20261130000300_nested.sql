-- Nested entities (tests/it/nested.rs, book/src/nested.md): an order owns
-- its lines. Each has its own index and events tables; `lines.order_id`
-- is the parent key the order's tree read joins on. Both soft-delete (an
-- order's delete marks its lines deleted in the same statement). A line's
-- sku is unique within its order.
CREATE TABLE orders (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  customer VARCHAR NOT NULL,
  deleted BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE order_events (
  id UUID NOT NULL REFERENCES orders(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

CREATE TABLE lines (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  order_id UUID NOT NULL REFERENCES orders(id),
  sku VARCHAR NOT NULL,
  deleted BOOLEAN NOT NULL DEFAULT FALSE,
  CONSTRAINT lines_order_sku_key UNIQUE (order_id, sku)
);

CREATE INDEX lines_order_id_idx ON lines (order_id);

CREATE TABLE line_events (
  id UUID NOT NULL REFERENCES lines(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

CREATE INDEX orders_created_at_id_idx ON orders (created_at, id);
CREATE INDEX lines_created_at_id_idx ON lines (created_at, id);
