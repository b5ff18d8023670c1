-- The invitation behind a link (by its secret's SHA-256), and what state it is in.
--
-- An opened invitation lasts 180 days from its opening and a page session 12 hours from its start, whatever a row
-- says it was given: a lost phone or a forwarded link does not keep the door open for ever.
CREATE OR REPLACE FUNCTION public.kith_family_invitation(link_hash bytea)
 RETURNS TABLE(organisation_id uuid, invitation_id uuid, family_id uuid, person_id uuid, code_hash bytea, state text)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public'
AS $function$
    SELECT i.organisation_id, i.id, i.family_id, i.person_id, i.code_hash,
           CASE WHEN i.revoked_at IS NOT NULL THEN 'revoked'
                WHEN NOT kith_family_member_active(i.organisation_id, i.person_id) THEN 'ended'
                WHEN i.opened_at IS NULL AND i.expires_at <= now() THEN 'expired'
                WHEN i.opened_at <= now() - interval '180 days' THEN 'expired'
                ELSE 'open' END
    FROM family_invitations i WHERE i.link_hash = kith_family_invitation.link_hash
$function$;
ALTER FUNCTION public.kith_family_invitation(link_hash bytea) OWNER TO kith_definer;
REVOKE ALL ON FUNCTION public.kith_family_invitation(link_hash bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_family_invitation(link_hash bytea) TO kith_app;
