-- The family member behind a page cookie (by its secret's SHA-256), and whether the session still stands.
CREATE OR REPLACE FUNCTION public.kith_family_session(token_hash bytea)
 RETURNS TABLE(organisation_id uuid, session_id uuid, invitation_id uuid, family_id uuid, person_id uuid, valid boolean)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public'
AS $function$
    SELECT s.organisation_id, s.id, s.invitation_id, s.family_id, s.person_id,
           s.revoked_at IS NULL AND s.expires_at > now() AND s.created_at > now() - interval '12 hours'
               AND i.revoked_at IS NULL AND (i.opened_at IS NULL OR i.opened_at > now() - interval '180 days')
               AND kith_family_member_active(s.organisation_id, s.person_id)
    FROM family_sessions s
    JOIN family_invitations i ON i.organisation_id = s.organisation_id AND i.id = s.invitation_id
    WHERE s.token_hash = kith_family_session.token_hash
$function$;
ALTER FUNCTION public.kith_family_session(token_hash bytea) OWNER TO kith_definer;
REVOKE ALL ON FUNCTION public.kith_family_session(token_hash bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_family_session(token_hash bytea) TO kith_app;
