-- Two levels of nested entities (tests/it/nested_two_levels.rs, book/src/nested.md):
-- a board owns its lanes, a lane owns its cards. `lanes.board_id` and
-- `cards.lane_id` are the parent keys the board's tree read joins on; all
-- three soft-delete (a board's delete marks its lanes and their cards
-- deleted in the same statement).
CREATE TABLE boards (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  name VARCHAR NOT NULL,
  deleted BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE board_events (
  id UUID NOT NULL REFERENCES boards(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

CREATE TABLE lanes (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  board_id UUID NOT NULL REFERENCES boards(id),
  deleted BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE INDEX lanes_board_id_idx ON lanes (board_id);

CREATE TABLE lane_events (
  id UUID NOT NULL REFERENCES lanes(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

CREATE TABLE cards (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  lane_id UUID NOT NULL REFERENCES lanes(id),
  title VARCHAR NOT NULL,
  deleted BOOLEAN NOT NULL DEFAULT FALSE,
  CONSTRAINT cards_lane_title_key UNIQUE (lane_id, title)
);

CREATE INDEX cards_lane_id_idx ON cards (lane_id);

CREATE TABLE card_events (
  id UUID NOT NULL REFERENCES cards(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);

CREATE INDEX boards_created_at_id_idx ON boards (created_at, id);
CREATE INDEX lanes_created_at_id_idx ON lanes (created_at, id);
CREATE INDEX cards_created_at_id_idx ON cards (created_at, id);

-- The parents' `list_for` listings (`Orders::list_for_customer_*`,
-- `Boards::list_for_name_*`) read by these (found by the schema drift check).
CREATE INDEX orders_customer_id_idx ON orders (customer, id);
CREATE INDEX boards_name_id_idx ON boards (name, id);
