-- The organisation and token a SCIM request's bearer token (by its SHA-256) stands for, if it is neither expired nor
-- revoked: looked up before the organisation is known, as kith_session is for a worker's token.
CREATE OR REPLACE FUNCTION public.kith_scim_token(token_hash bytea)
 RETURNS TABLE(organisation_id uuid, token_id uuid)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public'
AS $function$
    SELECT t.organisation_id, t.id FROM scim_tokens t
    WHERE t.token_hash = kith_scim_token.token_hash AND t.revoked_at IS NULL AND t.expires_at > now()
$function$;
-- Made the narrow role's when it is first made (the role may create nothing else: migration 0018).
GRANT CREATE ON SCHEMA public TO kith_definer;
ALTER FUNCTION public.kith_scim_token(token_hash bytea) OWNER TO kith_definer;
REVOKE CREATE ON SCHEMA public FROM kith_definer;
REVOKE ALL ON FUNCTION public.kith_scim_token(token_hash bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_scim_token(token_hash bytea) TO kith_app;
