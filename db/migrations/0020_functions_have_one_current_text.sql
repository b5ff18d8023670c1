-- From here on, each function's current text lives in db/functions/<name>.sql, applied after the numbered migrations
-- whenever it changes (Migrator), and no migration restates one. This records the checksum of the text each function
-- last had applied; readiness (/readyz) reads it as the serving role.
CREATE TABLE schema_functions (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON schema_functions TO kith_app;
