-- Nothing old comes back: when a person rejoins the network, or a closed family is reopened, the links and page
-- sessions they had end for good (a worker invites them again). Said here so that no path can forget it.
CREATE OR REPLACE FUNCTION public.end_family_page_access()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_TABLE_NAME = 'people' THEN
        IF OLD.left_network_on <= current_date AND (NEW.left_network_on IS NULL OR NEW.left_network_on > current_date) THEN
            UPDATE family_invitations SET revoked_at = now()
            WHERE organisation_id = NEW.organisation_id AND person_id = NEW.id AND revoked_at IS NULL;
            UPDATE family_sessions SET revoked_at = now()
            WHERE organisation_id = NEW.organisation_id AND person_id = NEW.id AND revoked_at IS NULL;
        END IF;
    ELSIF OLD.status = 'closed' AND NEW.status = 'open' THEN
        UPDATE family_invitations SET revoked_at = now()
        WHERE organisation_id = NEW.organisation_id AND family_id = NEW.id AND revoked_at IS NULL;
        UPDATE family_sessions SET revoked_at = now()
        WHERE organisation_id = NEW.organisation_id AND family_id = NEW.id AND revoked_at IS NULL;
    END IF;
    RETURN NEW;
END
$function$;
REVOKE ALL ON FUNCTION public.end_family_page_access() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.end_family_page_access() TO kith_app;
