-- The identity provider a sign-in names (by its sign-in name, before the organisation is known), with the
-- organisation it signs in to. What a sign-in needs and nothing more: the client's secret is not among it.
CREATE OR REPLACE FUNCTION public.kith_identity_provider(sign_in_name text)
 RETURNS TABLE(organisation_id uuid, issuer text, client_id text, subject_claim text, require_mfa boolean, discovery jsonb, jwks jsonb, jwks_fetched_at timestamp with time zone)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public'
AS $function$
    SELECT p.organisation_id, p.issuer, p.client_id, p.subject_claim, p.require_mfa, p.discovery, p.jwks, p.jwks_fetched_at
    FROM identity_providers p WHERE p.sign_in_name = lower(kith_identity_provider.sign_in_name)
$function$;
-- Made the narrow role's when it is first made (the role may create nothing else: migration 0018).
GRANT CREATE ON SCHEMA public TO kith_definer;
ALTER FUNCTION public.kith_identity_provider(sign_in_name text) OWNER TO kith_definer;
REVOKE CREATE ON SCHEMA public FROM kith_definer;
REVOKE ALL ON FUNCTION public.kith_identity_provider(sign_in_name text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_identity_provider(sign_in_name text) TO kith_app;
