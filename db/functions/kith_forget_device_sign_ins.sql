-- Housekeeping: device sign-ins that lapsed more than a day ago (answered or not) are forgotten, with the state, nonce
-- and verifier they held; returns how many went. A day, so that a device that polls late still hears `expired_token`.
CREATE OR REPLACE FUNCTION public.kith_forget_device_sign_ins()
 RETURNS integer
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public'
AS $function$
    WITH gone AS (DELETE FROM device_sign_ins WHERE expires_at <= now() - interval '1 day' RETURNING 1)
    SELECT count(*)::integer FROM gone
$function$;
-- Made the narrow role's when it is first made (the role may create nothing else: migration 0018).
GRANT CREATE ON SCHEMA public TO kith_definer;
ALTER FUNCTION public.kith_forget_device_sign_ins() OWNER TO kith_definer;
REVOKE CREATE ON SCHEMA public FROM kith_definer;
REVOKE ALL ON FUNCTION public.kith_forget_device_sign_ins() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_forget_device_sign_ins() TO kith_app;
