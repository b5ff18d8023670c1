-- How a worker relates to families (the facts FamilyAccess judges: the family's team, the worker's current allocation
-- role, allocated worker first, and open break-glass), said once for every access check. It runs as its caller,
-- behind the wall: row-level security shows only the transaction's organisation.
CREATE FUNCTION kith_relationships(organisation uuid, worker uuid, family_ids uuid[])
RETURNS TABLE (family_id uuid, team_id uuid, allocation_role text, break_glass boolean)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT f.id, f.team_id,
           (SELECT a.role FROM current_allocations a
             WHERE a.organisation_id = f.organisation_id AND a.family_id = f.id AND a.worker_id = worker
             ORDER BY a.role = 'allocatedWorker' DESC LIMIT 1),
           EXISTS (SELECT 1 FROM break_glass_grants g
                    WHERE g.organisation_id = f.organisation_id AND g.family_id = f.id
                      AND g.worker_id = worker AND g.expires_at > now())
    FROM families f
    WHERE f.organisation_id = organisation AND f.id = ANY(family_ids);
END
$$;

-- A signed-in request's first statement, in its first transaction: the token's session (kith_session), the wall for
-- the session's organisation (kith_enter_wall), and, behind it, the worker's relationship to the family the request is
-- about, when its path names one; in this order, one round trip. The relationship is read only for a valid session.
CREATE FUNCTION kith_request(token_hash bytea, generic_plans boolean, statement_ms bigint, idle_ms bigint, family_ids uuid[])
RETURNS TABLE (organisation_id uuid, session_id uuid, worker_id uuid, device_id uuid, roles text[], device_revoked boolean,
               valid boolean, team_ids uuid[], family_id uuid, team_id uuid, allocation_role text, break_glass boolean)
LANGUAGE plpgsql VOLATILE AS $$
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
                            s.team_ids, NULL::uuid, NULL::uuid, NULL::text, NULL::boolean;
        RETURN;
    END IF;
    RETURN QUERY SELECT s.organisation_id, s.session_id, s.worker_id, s.device_id, s.roles, s.device_revoked, s.valid,
                        s.team_ids, r.family_id, r.team_id, r.allocation_role, r.break_glass
                 FROM (SELECT) one LEFT JOIN kith_relationships(s.organisation_id, s.worker_id, family_ids) r ON true;
END
$$;

GRANT EXECUTE ON FUNCTION kith_relationships(uuid, uuid, uuid[]) TO kith_app;
