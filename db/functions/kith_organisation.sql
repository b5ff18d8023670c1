-- The one place that says which organisation a transaction works for. Unset or empty: none, so no row.
CREATE OR REPLACE FUNCTION public.kith_organisation()
 RETURNS uuid
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
    SELECT nullif(current_setting('kith.organisation_id', true), '')::uuid
$function$;
GRANT EXECUTE ON FUNCTION public.kith_organisation() TO PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_organisation() TO kith_app;
GRANT EXECUTE ON FUNCTION public.kith_organisation() TO kith_definer;
