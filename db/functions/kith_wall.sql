-- The organisation of the wall this transaction entered, for the functions that read or write an organisation's
-- rows: they take it from here, never from an argument, and refuse to run anywhere but behind the wall.
CREATE OR REPLACE FUNCTION public.kith_wall()
 RETURNS uuid
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    organisation uuid := kith_organisation();
BEGIN
    IF organisation IS NULL OR current_user <> 'kith_app' THEN
        RAISE EXCEPTION 'this runs only behind the wall (kith_enter_wall)' USING ERRCODE = '42501';
    END IF;
    RETURN organisation;
END
$function$;
REVOKE ALL ON FUNCTION public.kith_wall() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_wall() TO kith_app;
