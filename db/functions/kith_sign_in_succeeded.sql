-- The right password: the account's failures (its reservation among them) are forgiven. The address keeps its count.
--
-- The right password: the account's and this address's failures against it are forgiven, the address's reservation
-- for this attempt is taken back (its other failures stand), and the address is known to the account for 30 days.
CREATE OR REPLACE FUNCTION public.kith_sign_in_succeeded(account_key bytea, address_key bytea, pair_key bytea, reserved_at timestamp with time zone)
 RETURNS void
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public'
AS $function$
    DELETE FROM login_failures WHERE key_hash IN (account_key, pair_key);
    DELETE FROM login_failures WHERE ctid = (SELECT ctid FROM login_failures
                                             WHERE key_hash = address_key AND failed_at = reserved_at LIMIT 1);
    INSERT INTO known_sign_ins (key_hash, signed_in_at) VALUES (pair_key, now())
    ON CONFLICT (key_hash) DO UPDATE SET signed_in_at = excluded.signed_in_at;
$function$;
ALTER FUNCTION public.kith_sign_in_succeeded(account_key bytea, address_key bytea, pair_key bytea, reserved_at timestamp with time zone) OWNER TO kith_definer;
REVOKE ALL ON FUNCTION public.kith_sign_in_succeeded(account_key bytea, address_key bytea, pair_key bytea, reserved_at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_sign_in_succeeded(account_key bytea, address_key bytea, pair_key bytea, reserved_at timestamp with time zone) TO kith_app;
