-- The key list cursors are signed with, kept in the database so every server of a deployment signs and checks alike;
-- the serving role reads it only through here.
CREATE OR REPLACE FUNCTION public.kith_list_cursor_key()
 RETURNS bytea
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public'
AS $function$
    SELECT key FROM server_keys WHERE name = 'list-cursors'
$function$;
ALTER FUNCTION public.kith_list_cursor_key() OWNER TO kith_definer;
REVOKE ALL ON FUNCTION public.kith_list_cursor_key() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_list_cursor_key() TO kith_app;
