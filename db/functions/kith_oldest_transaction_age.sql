-- How old the oldest transaction holding an id is, cluster-wide: what holds the sync feed back (the metric
-- sync_horizon_lag_seconds). pg_stat_activity shows other sessions' transactions only to pg_read_all_stats, which
-- kith_definer is given where the migrating role may grant it (a superuser); elsewhere the figure counts only the
-- server's own sessions until an operator grants it.
--
-- The age of the oldest transaction holding the sync feed back, which /metrics now reads at every scrape
-- (sync_horizon_lag_seconds): measured from the clock, never below zero. Measured from the asking transaction's own
-- start, as before, a transaction that began after the asker's came out as a negative age.
CREATE OR REPLACE FUNCTION public.kith_oldest_transaction_age()
 RETURNS double precision
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public'
AS $function$
    SELECT greatest(0, coalesce(extract(epoch FROM clock_timestamp() - min(xact_start)), 0))::float8
    FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
$function$;
ALTER FUNCTION public.kith_oldest_transaction_age() OWNER TO kith_definer;
REVOKE ALL ON FUNCTION public.kith_oldest_transaction_age() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_oldest_transaction_age() TO kith_app;
