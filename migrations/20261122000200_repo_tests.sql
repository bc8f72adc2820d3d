-- Tables of the EsRepo integration tests (tests/it/repo_*.rs).
-- Every test writes rows under fresh random ids and values, so tests run in
-- parallel and the database can persist across runs.

-- `Member`: default table names; one column of each constraint flavour.
CREATE TABLE members (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  -- unique; written through custom accessors (lower-cased)
  email VARCHAR NOT NULL UNIQUE,
  -- nullable and unique (many NULLs allowed): found with IS NOT DISTINCT FROM
  nickname VARCHAR UNIQUE,
  -- CHECK constraint
  credit_limit BIGINT NOT NULL CONSTRAINT members_credit_limit_check CHECK (credit_limit >= 0),
  -- not unique: finding by it can match several members
  region VARCHAR NOT NULL,
  -- NOT NULL, written on create only (`update(persist = false)`)
  referral_code VARCHAR NOT NULL,
  -- never written on create (`create(persist = false)`): the default applies
  tier VARCHAR NOT NULL DEFAULT 'basic'
);

CREATE TABLE member_events (
  id UUID NOT NULL REFERENCES members(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

-- `Ticket`: a FOREIGN KEY to another entity's index table.
CREATE TABLE tickets (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  member_id UUID NOT NULL REFERENCES members(id),
  title VARCHAR NOT NULL
);

CREATE TABLE ticket_events (
  id UUID NOT NULL REFERENCES tickets(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

-- `Gizmo` with `tbl_prefix = "app"`.
CREATE TABLE app_gizmos (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  label VARCHAR NOT NULL UNIQUE
);

CREATE TABLE app_gizmo_events (
  id UUID NOT NULL REFERENCES app_gizmos(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

-- `Parcel` with `tbl = "shipping_parcels", events_tbl = "shipping_parcel_log"`.
CREATE TABLE shipping_parcels (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  tracking VARCHAR NOT NULL UNIQUE,
  weight_grams INT NOT NULL
);

CREATE TABLE shipping_parcel_log (
  id UUID NOT NULL REFERENCES shipping_parcels(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

-- `Memo`: no updatable column (its only column is `update(persist = false)`).
CREATE TABLE memos (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  title VARCHAR NOT NULL
);

CREATE TABLE memo_events (
  id UUID NOT NULL REFERENCES memos(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

-- `Voucher`: schema-qualified `tbl` / `events_tbl`.
CREATE SCHEMA repo_test;

CREATE TABLE repo_test.vouchers (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  code VARCHAR NOT NULL UNIQUE
);

CREATE TABLE repo_test.voucher_events (
  id UUID NOT NULL REFERENCES repo_test.vouchers(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

-- `Tally`: the statement-counting tests (and the `y` -> `ies` plural).
CREATE TABLE tallies (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  name VARCHAR NOT NULL UNIQUE
);

CREATE TABLE tally_events (
  id UUID NOT NULL REFERENCES tallies(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);
