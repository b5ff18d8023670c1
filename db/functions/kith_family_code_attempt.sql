-- A code attempt, reserved before the code is checked (as kith_begin_sign_in does for passwords): at most
-- `invitation_limit` wrong codes per invitation and `address_limit` per address in `window_seconds`. retry_after > 0:
-- refused, nothing reserved. kith_family_code_accepted clears the invitation's failures.
CREATE OR REPLACE FUNCTION public.kith_family_code_attempt(link_hash bytea, address_key bytea, invitation_limit integer, address_limit integer, window_seconds integer)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public'
AS $function$
DECLARE
    since timestamptz := clock_timestamp() - make_interval(secs => window_seconds);
    invitation_key bytea := sha256('invitation:'::bytea || link_hash);
    oldest timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('kith sign-in ' || encode(invitation_key, 'hex'), 0));
    PERFORM pg_advisory_xact_lock(hashtextextended('kith sign-in ' || encode(address_key, 'hex'), 0));
    SELECT min(f.failed_at) INTO oldest FROM (
        SELECT failed_at FROM login_failures WHERE key_hash = invitation_key AND failed_at > since
        ORDER BY failed_at DESC OFFSET invitation_limit - 1 LIMIT 1) f;
    IF oldest IS NOT NULL THEN
        RETURN greatest(1, ceil(extract(epoch FROM oldest - since))::integer);
    END IF;
    SELECT min(f.failed_at) INTO oldest FROM (
        SELECT failed_at FROM login_failures WHERE key_hash = address_key AND failed_at > since
        ORDER BY failed_at DESC OFFSET address_limit - 1 LIMIT 1) f;
    IF oldest IS NOT NULL THEN
        RETURN greatest(1, ceil(extract(epoch FROM oldest - since))::integer);
    END IF;
    DELETE FROM login_failures f WHERE f.key_hash IN (invitation_key, address_key) AND f.failed_at <= since;
    INSERT INTO login_failures (key_hash, failed_at) VALUES (invitation_key, clock_timestamp()), (address_key, clock_timestamp());
    RETURN 0;
END
$function$;
ALTER FUNCTION public.kith_family_code_attempt(link_hash bytea, address_key bytea, invitation_limit integer, address_limit integer, window_seconds integer) OWNER TO kith_definer;
REVOKE ALL ON FUNCTION public.kith_family_code_attempt(link_hash bytea, address_key bytea, invitation_limit integer, address_limit integer, window_seconds integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_family_code_attempt(link_hash bytea, address_key bytea, invitation_limit integer, address_limit integer, window_seconds integer) TO kith_app;
