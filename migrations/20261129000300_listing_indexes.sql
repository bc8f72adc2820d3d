-- Indexes the repositories' listings walk that the earlier migrations
-- left out, found by the schema drift check (tests/it/schema.rs,
-- book/src/schema.md): `Task`'s `list_for(by(created_at, priority))`
-- filter on `assignee`, and `Book`'s `list_by` on `title` and bare
-- `list_for` on `status` and `holder_id` (ordered by `id` first).
CREATE INDEX tasks_assignee_created_at_id_idx ON tasks (assignee, created_at, id);
CREATE INDEX books_title_id_idx ON books (title, id);
CREATE INDEX books_status_id_idx ON books (status, id);
CREATE INDEX books_holder_id_id_idx ON books (holder_id, id);
