-- The worker a statement that reads or writes a family's record acts as, behind the wall. A request whose work is one
-- statement enters the wall from its token, not from an organisation it names: the statement is
-- `SELECT … FROM kith_acting_worker(token, …, NULL) AS w(worker), LATERAL kith_…(w.worker, …)`, so the wall is entered
-- before the work reads or writes anything, for the session's organisation and as its worker; a token that no longer
-- stands (the lookup just before may have raced a sign-out) reads and writes nothing, with Kith's own SQLSTATE KT401,
-- which the server answers 401 (not class 28: PostgresNIO takes that for a failed sign-in of its connection). Without a token, the same
-- statement runs inside a transaction already behind the wall, as the worker named (a device owner's quarantined work
-- accepted by a supervisor, say), and refuses anywhere else.
CREATE OR REPLACE FUNCTION public.kith_acting_worker(token_hash bytea, generic_plans boolean, worker uuid)
 RETURNS uuid
 LANGUAGE plpgsql
AS $function$
DECLARE
    s record;
BEGIN
    IF token_hash IS NULL THEN
        PERFORM kith_wall();
        RETURN worker;
    END IF;
    SELECT * INTO s FROM kith_session(token_hash);
    IF NOT FOUND OR NOT s.valid OR s.device_revoked OR s.worker_id IS DISTINCT FROM coalesce(worker, s.worker_id) THEN
        RAISE EXCEPTION 'the session no longer stands' USING ERRCODE = 'KT401';
    END IF;
    PERFORM kith_enter_wall(s.organisation_id, generic_plans, NULL, NULL);
    RETURN s.worker_id;
END
$function$;
REVOKE ALL ON FUNCTION public.kith_acting_worker(token_hash bytea, generic_plans boolean, worker uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_acting_worker(token_hash bytea, generic_plans boolean, worker uuid) TO kith_app;
