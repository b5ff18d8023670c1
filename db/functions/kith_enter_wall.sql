-- Every server transaction starts behind the wall: the role kith_app, the organisation its row-level security shows,
-- and the transaction's limits. The settings were one statement of their own; as a function, the token's lookup enters
-- the wall for the session's organisation in the same statement that finds the session (one round trip fewer on every
-- request), and both ways of entering say the same. Transaction-local, as before: nothing carries over to the next
-- transaction on a pooled connection. It runs as its caller (no SET clause, which would undo the settings on return).
CREATE OR REPLACE FUNCTION public.kith_enter_wall(organisation uuid, generic_plans boolean, statement_ms bigint, idle_ms bigint)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM set_config('role', 'kith_app', true),
            set_config('kith.organisation_id', coalesce(organisation::text, ''), true),
            set_config('plan_cache_mode',
                       CASE WHEN generic_plans THEN 'force_generic_plan' ELSE current_setting('plan_cache_mode') END, true),
            set_config('statement_timeout', coalesce(statement_ms::text, current_setting('statement_timeout')), true),
            set_config('idle_in_transaction_session_timeout',
                       coalesce(idle_ms::text, current_setting('idle_in_transaction_session_timeout')), true);
END
$function$;

