-- Ids the repository assigns (tests/it/repo_ids.rs, book/src/create.md):
-- coupons with a unique code, created without an id in `NewCoupon`.
CREATE TABLE coupons (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  code VARCHAR NOT NULL UNIQUE,
  percent INT NOT NULL
);

CREATE TABLE coupon_events (
  id UUID NOT NULL REFERENCES coupons(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);
