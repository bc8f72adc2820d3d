-- `Task` (tests/it/book_list.rs): listings, filters and soft delete.
CREATE TABLE tasks (
  id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  title VARCHAR NOT NULL,
  priority INT,
  project VARCHAR NOT NULL,
  assignee VARCHAR,
  deleted BOOL NOT NULL DEFAULT FALSE
);
CREATE INDEX tasks_title_id_idx ON tasks (title, id);
CREATE INDEX tasks_priority_id_idx ON tasks (priority, id);
CREATE INDEX tasks_created_at_id_idx ON tasks (created_at, id);
CREATE INDEX tasks_project_created_at_id_idx ON tasks (project, created_at, id);

CREATE TABLE task_events (
  id UUID NOT NULL REFERENCES tasks(id),
  sequence INT NOT NULL,
  event_type VARCHAR NOT NULL,
  event JSONB NOT NULL,
  context JSONB DEFAULT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  UNIQUE(id, sequence)
);
