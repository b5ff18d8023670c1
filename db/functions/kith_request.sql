-- A signed-in request's first statement, in its first transaction: the token's session (kith_session), the wall for
-- the session's organisation (kith_enter_wall), and, behind it, the worker's relationship to the family the request is
-- about, when its path names one; in this order, one round trip. The relationship is read only for a valid session.
CREATE OR REPLACE FUNCTION public.kith_request(token_hash bytea, generic_plans boolean, statement_ms bigint, idle_ms bigint, family_ids uuid[])
 RETURNS TABLE(organisation_id uuid, session_id uuid, worker_id uuid, device_id uuid, roles text[], device_revoked boolean, valid boolean, team_ids uuid[], expired boolean, family_id uuid, team_id uuid, allocation_role text, break_glass boolean)
 LANGUAGE plpgsql
AS $function$
DECLARE
    s record;
BEGIN
    SELECT * INTO s FROM kith_session(token_hash);
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM kith_enter_wall(s.organisation_id, generic_plans, statement_ms, idle_ms);
    IF NOT s.valid OR s.device_revoked OR cardinality(family_ids) = 0 THEN
        RETURN QUERY SELECT s.organisation_id, s.session_id, s.worker_id, s.device_id, s.roles, s.device_revoked, s.valid,
                            s.team_ids, s.expired, NULL::uuid, NULL::uuid, NULL::text, NULL::boolean;
        RETURN;
    END IF;
    RETURN QUERY SELECT s.organisation_id, s.session_id, s.worker_id, s.device_id, s.roles, s.device_revoked, s.valid,
                        s.team_ids, s.expired, r.family_id, r.team_id, r.allocation_role, r.break_glass
                 FROM (SELECT) one LEFT JOIN kith_relationships(s.worker_id, family_ids) r ON true;
END
$function$;
REVOKE ALL ON FUNCTION public.kith_request(token_hash bytea, generic_plans boolean, statement_ms bigint, idle_ms bigint, family_ids uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_request(token_hash bytea, generic_plans boolean, statement_ms bigint, idle_ms bigint, family_ids uuid[]) TO kith_app;
