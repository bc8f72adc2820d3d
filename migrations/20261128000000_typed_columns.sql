-- Column types checked at compile time and on first use
-- (tests/it/column_types.rs, tests/ui/column_types/).

-- `Book`: one column of each kind of Rust type a repository binds.
CREATE TYPE book_status AS ENUM ('available', 'lent', 'lost');

CREATE TABLE books (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  -- `String` into VARCHAR(n): the parameter is sent as TEXT
  title VARCHAR(200) NOT NULL,
  -- `i32`
  pages INT NOT NULL,
  -- `f64`, written through bulk and single writes alike (NaN, -0.0)
  rating DOUBLE PRECISION NOT NULL,
  -- `Option<i64>`
  copies BIGINT,
  -- `#[sqlx(transparent)]` newtype over String
  isbn TEXT NOT NULL UNIQUE,
  -- `#[derive(sqlx::Type)]` enum
  status book_status NOT NULL,
  -- entity id of another entity, nullable: `Option<MemberId>`
  holder_id UUID
);

CREATE TABLE book_events (
  id UUID NOT NULL REFERENCES books(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

-- `Leaflet`: one INT column. tests/it/column_types.rs declares it `i32`;
-- the UI cases declare it `String` and `i64` and must not compile (the
-- statements are the same, so they find their metadata in `.sqlx/`).
CREATE TABLE leaflets (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  pages INT NOT NULL
);

CREATE TABLE leaflet_events (
  id UUID NOT NULL REFERENCES leaflets(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);
