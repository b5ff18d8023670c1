-- The change log is pruned of rows older than the 180 days a cursor lives. This keeps the last row deleted: a cursor
-- positioned before it may have missed what was deleted, so it answers 410 cursor_expired and its device starts again.
CREATE TABLE sync_changes_pruned (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    last_xid  xid8 NOT NULL,
    last_seq  bigint NOT NULL,
    pruned_at timestamptz NOT NULL DEFAULT now()
);
