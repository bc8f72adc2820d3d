-- The `(created_at, id)` index `list_by_created_at` walks (every
-- repository has that listing, ordered `created_at, id`), for each index
-- table that lacked one. The list is the schema drift check's own fixes
-- (tests/it/schema.rs, every_repository_fits_the_migrations, once
-- `schema()` required the index); `tasks` already had it.
CREATE INDEX members_created_at_id_idx ON members (created_at, id);
CREATE INDEX tickets_created_at_id_idx ON tickets (created_at, id);
CREATE INDEX app_gizmos_created_at_id_idx ON app_gizmos (created_at, id);
CREATE INDEX shipping_parcels_created_at_id_idx ON shipping_parcels (created_at, id);
CREATE INDEX memos_created_at_id_idx ON memos (created_at, id);
CREATE INDEX vouchers_created_at_id_idx ON repo_test.vouchers (created_at, id);
CREATE INDEX tallies_created_at_id_idx ON tallies (created_at, id);
CREATE INDEX users_created_at_id_idx ON users (created_at, id);
CREATE INDEX accounts_created_at_id_idx ON accounts (created_at, id);
CREATE INDEX specimens_created_at_id_idx ON specimens (created_at, id);
CREATE INDEX gauges_created_at_id_idx ON gauges (created_at, id);
CREATE INDEX slots_created_at_id_idx ON slots (created_at, id);
CREATE INDEX books_created_at_id_idx ON books (created_at, id);
CREATE INDEX leaflets_created_at_id_idx ON leaflets (created_at, id);
CREATE INDEX badges_created_at_id_idx ON badges (created_at, id);
CREATE INDEX ledger_accounts_created_at_id_idx ON ledger_accounts (created_at, id);
CREATE INDEX ledger_notes_created_at_id_idx ON ledger_notes (created_at, id);
CREATE INDEX projection_probes_created_at_id_idx ON projection_probes (created_at, id);
CREATE INDEX products_created_at_id_idx ON products (created_at, id);
CREATE INDEX handles_created_at_id_idx ON handles (created_at, id);
-- The coupons of tests/it/repo_ids.rs, added on another branch at the same
-- time as this file.
CREATE INDEX coupons_created_at_id_idx ON coupons (created_at, id);
