-- Inline projections (book/src/inline_projections.md,
-- tests/it/inline_projection.rs): `Product`'s repository has a
-- post-persist hook that keeps a read model (`product_stock`) and an outbox
-- (`product_outbox`) in step with every write, in the write's transaction.

CREATE TABLE products (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  name VARCHAR NOT NULL,
  deleted BOOL NOT NULL DEFAULT FALSE
);

CREATE TABLE product_events (
  id UUID NOT NULL REFERENCES products(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

-- ANCHOR: read_model
-- The read model: one row per product that is on sale, with the version
-- (number of events) it reflects.
CREATE TABLE product_stock (
  id UUID PRIMARY KEY REFERENCES products(id),
  name VARCHAR NOT NULL CHECK (name <> ''),
  in_stock BIGINT NOT NULL,
  version INT NOT NULL
);

-- The outbox: one row per event, for a relay to publish after commit.
CREATE TABLE product_outbox (
  product_id UUID NOT NULL REFERENCES products(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (product_id, sequence)
);
-- ANCHOR_END: read_model

-- A check that runs at COMMIT, not at the statement: the tests use it to
-- make a write fail after its statement and its hook succeeded.
CREATE FUNCTION product_stock_refuse_at_commit() RETURNS trigger AS $$
BEGIN
  IF NEW.name = 'refused at commit' THEN
    RAISE EXCEPTION 'product_stock: refused at commit';
  END IF;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER product_stock_refuse_at_commit
  AFTER INSERT OR UPDATE ON product_stock
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION product_stock_refuse_at_commit();
