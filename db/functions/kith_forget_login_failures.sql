-- Housekeeping: sign-in and code failures older than their window, and addresses not seen with an account for 30 days,
-- are forgotten; returns how many failures went.
CREATE OR REPLACE FUNCTION public.kith_forget_login_failures(window_seconds integer)
 RETURNS integer
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public'
AS $function$
    DELETE FROM known_sign_ins WHERE signed_in_at <= now() - interval '30 days';
    WITH gone AS (
        DELETE FROM login_failures WHERE failed_at <= clock_timestamp() - make_interval(secs => window_seconds) RETURNING 1
    )
    SELECT count(*)::integer FROM gone
$function$;
ALTER FUNCTION public.kith_forget_login_failures(window_seconds integer) OWNER TO kith_definer;
REVOKE ALL ON FUNCTION public.kith_forget_login_failures(window_seconds integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_forget_login_failures(window_seconds integer) TO kith_app;
