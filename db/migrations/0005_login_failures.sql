-- Failed sign-ins within the last 15 minutes, per account and per address, so that every server instance slows
-- guessing down alike and a restart forgives nothing. Keys are SHA-256 of 'account:<email>' or 'address:<ip>': no
-- email or address is kept in clear. Old rows go when their key fails again, succeeds, or at the daily housekeeping.
CREATE TABLE login_failures (
    key_hash  bytea NOT NULL,
    failed_at timestamptz NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key_hash, failed_at);
CREATE INDEX login_failures_failed_at ON login_failures (failed_at);
