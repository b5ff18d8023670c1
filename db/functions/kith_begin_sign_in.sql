-- A sign-in attempt, reserved before the password is checked, so that however many arrive at once no more than
-- `account_limit` wrong passwords are ever checked for one account in `window`. The reservation is a failure until
-- kith_sign_in_succeeded clears the account's failures. An address over `address_limit` (an office behind one proxy)
-- is slowed, not shut: an account with no failures of its own is still checked, one attempt a second per address.
-- retry_after > 0: refused, nothing reserved, try again in that many seconds. Otherwise the account, if any.
CREATE OR REPLACE FUNCTION public.kith_begin_sign_in(email text, account_key bytea, address_key bytea, pair_key bytea, account_limit integer, address_limit integer, window_seconds integer)
 RETURNS TABLE(retry_after integer, organisation_id uuid, worker_id uuid, password_hash text, reserved_at timestamp with time zone)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public'
AS $function$
DECLARE
    since timestamptz := clock_timestamp() - make_interval(secs => window_seconds);
    attempt_at timestamptz := clock_timestamp();
    account_failures integer;
    account_oldest timestamptz;
    pair_failures integer;
    pair_oldest timestamptz;
    address_failures integer;
    address_oldest timestamptz;
    address_newest timestamptz;
    known boolean;
BEGIN
    -- Account first, then address: every attempt takes the two locks in the same order.
    PERFORM pg_advisory_xact_lock(hashtextextended('kith sign-in ' || encode(account_key, 'hex'), 0));
    PERFORM pg_advisory_xact_lock(hashtextextended('kith sign-in ' || encode(address_key, 'hex'), 0));
    SELECT count(*), min(f.failed_at) INTO account_failures, account_oldest
    FROM login_failures f WHERE f.key_hash = account_key AND f.failed_at > since;
    SELECT count(*), min(f.failed_at) INTO pair_failures, pair_oldest
    FROM login_failures f WHERE f.key_hash = pair_key AND f.failed_at > since;
    SELECT count(*), min(f.failed_at), max(f.failed_at) INTO address_failures, address_oldest, address_newest
    FROM login_failures f WHERE f.key_hash = address_key AND f.failed_at > since;
    known := EXISTS (SELECT 1 FROM known_sign_ins k WHERE k.key_hash = pair_key AND k.signed_in_at > now() - interval '30 days');

    IF pair_failures >= account_limit THEN
        RETURN QUERY SELECT greatest(1, ceil(extract(epoch FROM pair_oldest - since))::integer), NULL::uuid, NULL::uuid,
                            NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    IF account_failures >= account_limit AND NOT known THEN
        RETURN QUERY SELECT greatest(1, ceil(extract(epoch FROM account_oldest - since))::integer), NULL::uuid, NULL::uuid,
                            NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    IF address_failures >= address_limit AND NOT known THEN
        IF account_failures > 0 THEN
            RETURN QUERY SELECT greatest(1, ceil(extract(epoch FROM address_oldest - since))::integer), NULL::uuid,
                                NULL::uuid, NULL::text, NULL::timestamptz;
            RETURN;
        ELSIF address_newest > clock_timestamp() - interval '1 second' THEN
            RETURN QUERY SELECT 1, NULL::uuid, NULL::uuid, NULL::text, NULL::timestamptz;
            RETURN;
        END IF;
    END IF;

    DELETE FROM login_failures f WHERE f.key_hash IN (account_key, address_key, pair_key) AND f.failed_at <= since;
    INSERT INTO login_failures (key_hash, failed_at) VALUES (account_key, attempt_at), (address_key, attempt_at), (pair_key, attempt_at);
    RETURN QUERY
        SELECT 0, w.organisation_id, w.id, w.password_hash, attempt_at FROM workers w
        WHERE lower(w.email) = lower(kith_begin_sign_in.email) AND (w.left_on IS NULL OR w.left_on > current_date)
        UNION ALL
        SELECT 0, NULL, NULL, NULL, attempt_at
        WHERE NOT EXISTS (SELECT 1 FROM workers w WHERE lower(w.email) = lower(kith_begin_sign_in.email)
                            AND (w.left_on IS NULL OR w.left_on > current_date));
END
$function$;
ALTER FUNCTION public.kith_begin_sign_in(email text, account_key bytea, address_key bytea, pair_key bytea, account_limit integer, address_limit integer, window_seconds integer) OWNER TO kith_definer;
REVOKE ALL ON FUNCTION public.kith_begin_sign_in(email text, account_key bytea, address_key bytea, pair_key bytea, account_limit integer, address_limit integer, window_seconds integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_begin_sign_in(email text, account_key bytea, address_key bytea, pair_key bytea, account_limit integer, address_limit integer, window_seconds integer) TO kith_app;
