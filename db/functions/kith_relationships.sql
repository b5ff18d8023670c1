-- How a worker relates to families (the facts FamilyAccess judges: the family's team, the worker's current allocation
-- role, allocated worker first, and open break-glass), said once for every access check. It runs as its caller,
-- behind the wall: row-level security shows only the transaction's organisation.
CREATE OR REPLACE FUNCTION public.kith_relationships(worker uuid, family_ids uuid[])
 RETURNS TABLE(family_id uuid, team_id uuid, allocation_role text, break_glass boolean)
 LANGUAGE plpgsql
 STABLE
AS $function$
#variable_conflict use_column
DECLARE
    organisation uuid := kith_wall();
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
$function$;
REVOKE ALL ON FUNCTION public.kith_relationships(worker uuid, family_ids uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_relationships(worker uuid, family_ids uuid[]) TO kith_app;
