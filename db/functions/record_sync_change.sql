-- TG_ARGV: entity name, column holding the entity id, column holding the family id. A family being disposed of
-- (`kith-server dispose`) leaves no change behind: its devices are told to purge it instead (disposal_purges).
CREATE OR REPLACE FUNCTION public.record_sync_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    r jsonb;
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('kith.disposing', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        r := to_jsonb(OLD);
    ELSE
        r := to_jsonb(NEW);
    END IF;
    INSERT INTO sync_changes (organisation_id, family_id, entity, entity_id, op)
    VALUES ((r ->> 'organisation_id')::uuid,
            (r ->> TG_ARGV[2])::uuid,
            TG_ARGV[0],
            (r ->> TG_ARGV[1])::uuid,
            CASE WHEN TG_OP = 'DELETE' THEN 'delete' ELSE 'upsert' END);
    RETURN NULL;
END
$function$;

