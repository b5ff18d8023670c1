-- Whether a person may still use the family page: in the network and the family open.
CREATE OR REPLACE FUNCTION public.kith_family_member_active(organisation_id uuid, person_id uuid)
 RETURNS boolean
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public'
AS $function$
    SELECT EXISTS (
        SELECT 1 FROM people p JOIN families f ON f.organisation_id = p.organisation_id AND f.id = p.family_id
        WHERE p.organisation_id = kith_family_member_active.organisation_id AND p.id = kith_family_member_active.person_id
          AND (p.left_network_on IS NULL OR p.left_network_on > current_date) AND f.status = 'open')
$function$;
ALTER FUNCTION public.kith_family_member_active(organisation_id uuid, person_id uuid) OWNER TO kith_definer;
REVOKE ALL ON FUNCTION public.kith_family_member_active(organisation_id uuid, person_id uuid) FROM PUBLIC;
