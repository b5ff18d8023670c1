-- The right code for a link: its wrong attempts are forgiven (kith_family_code_attempt reserved each before the check).
CREATE OR REPLACE FUNCTION public.kith_family_code_accepted(link_hash bytea)
 RETURNS void
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public'
AS $function$
    DELETE FROM login_failures WHERE key_hash = sha256('invitation:'::bytea || link_hash)
$function$;
ALTER FUNCTION public.kith_family_code_accepted(link_hash bytea) OWNER TO kith_definer;
REVOKE ALL ON FUNCTION public.kith_family_code_accepted(link_hash bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_family_code_accepted(link_hash bytea) TO kith_app;
