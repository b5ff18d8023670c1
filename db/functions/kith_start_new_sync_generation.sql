-- After a restore: every organisation gets a new sync generation and cursor key when it next syncs.
CREATE OR REPLACE FUNCTION public.kith_start_new_sync_generation()
 RETURNS void
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public'
AS $function$
    DELETE FROM sync_generations
$function$;
ALTER FUNCTION public.kith_start_new_sync_generation() OWNER TO kith_definer;
REVOKE ALL ON FUNCTION public.kith_start_new_sync_generation() FROM PUBLIC;
