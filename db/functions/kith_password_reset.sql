-- The reset behind a link, before its organisation is known, and what state it is in.
CREATE OR REPLACE FUNCTION public.kith_password_reset(link_hash bytea)
 RETURNS TABLE(organisation_id uuid, reset_id uuid, worker_id uuid, state text)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public'
AS $function$
    SELECT r.organisation_id, r.id, r.worker_id,
           CASE WHEN r.used_at IS NOT NULL THEN 'used'
                WHEN r.expires_at <= now() THEN 'expired'
                WHEN w.left_on <= current_date THEN 'ended'
                WHEN EXISTS (SELECT 1 FROM password_resets n WHERE n.organisation_id = r.organisation_id
                               AND n.worker_id = r.worker_id AND n.created_at > r.created_at) THEN 'replaced'
                ELSE 'open' END
    FROM password_resets r JOIN workers w ON w.organisation_id = r.organisation_id AND w.id = r.worker_id
    WHERE r.link_hash = kith_password_reset.link_hash
$function$;
ALTER FUNCTION public.kith_password_reset(link_hash bytea) OWNER TO kith_definer;
REVOKE ALL ON FUNCTION public.kith_password_reset(link_hash bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_password_reset(link_hash bytea) TO kith_app;
