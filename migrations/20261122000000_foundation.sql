-- Tables the runtime tests (tests/it/db_op.rs, executors.rs, book_*.rs) write to.
-- Rows are keyed by random ids so tests never interfere with each other.
CREATE TABLE probes (
    id UUID PRIMARY KEY,
    note TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
