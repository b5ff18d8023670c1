-- A plan reaches devices whole, its items and their progress inside it, as a conference does with its stage events
-- and participants: so their change-log rows now name the plan, and the pull reads the changed plans by id with
-- nothing left to collapse. Rows written before are rewritten the same way, and the review items' old rows (0008)
-- go. The rewrite reads and writes across organisations, so the wall is lowered for this transaction's owner only.
CREATE OR REPLACE FUNCTION public.record_plan_item_update_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    INSERT INTO sync_changes (organisation_id, family_id, entity, entity_id, op)
    SELECT NEW.organisation_id, NEW.family_id, 'plan', i.plan_id, 'upsert'
    FROM plan_items i WHERE i.organisation_id = NEW.organisation_id AND i.id = NEW.plan_item_id;
    RETURN NULL;
END
$function$;

