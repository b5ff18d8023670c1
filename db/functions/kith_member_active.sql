-- Whether a person of the wall's organisation may still use the family page, for the server's reads behind the wall.
-- kith_family_member_active (0007) names an organisation, so it is left to the lookups made before one is known.
CREATE OR REPLACE FUNCTION public.kith_member_active(person uuid)
 RETURNS boolean
 LANGUAGE sql
 STABLE
AS $function$
    SELECT EXISTS (
        SELECT 1 FROM people p JOIN families f ON f.organisation_id = p.organisation_id AND f.id = p.family_id
        WHERE p.organisation_id = kith_wall() AND p.id = person
          AND (p.left_network_on IS NULL OR p.left_network_on > current_date) AND f.status = 'open')
$function$;
REVOKE ALL ON FUNCTION public.kith_member_active(person uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_member_active(person uuid) TO kith_app;
