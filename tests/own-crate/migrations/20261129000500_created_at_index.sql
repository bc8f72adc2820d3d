-- The index `list_by_created_at` walks; the drift check in main (the
-- quickstart's) asks for it, as migrations/20261129000500_created_at_indexes.sql
-- adds it to the workspace's tables.
CREATE INDEX users_created_at_id_idx ON users (created_at, id);
