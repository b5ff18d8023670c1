-- The age of the oldest transaction holding the sync feed back, which /metrics now reads at every scrape
-- (sync_horizon_lag_seconds): measured from the clock, never below zero. Measured from the asking transaction's own
-- start, as before, a transaction that began after the asker's came out as a negative age.
CREATE OR REPLACE FUNCTION kith_oldest_transaction_age() RETURNS double precision
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT greatest(0, coalesce(extract(epoch FROM clock_timestamp() - min(xact_start)), 0))::float8
    FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
$$;
