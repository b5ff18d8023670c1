-- A plan reaches devices whole, its items and their progress inside it, as a conference does with its stage events
-- and participants: so their change-log rows now name the plan, and the pull reads the changed plans by id with
-- nothing left to collapse. Rows written before are rewritten the same way, and the review items' old rows (0008)
-- go. The rewrite reads and writes across organisations, so the wall is lowered for this transaction's owner only.
CREATE FUNCTION record_plan_item_update_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_changes (organisation_id, family_id, entity, entity_id, op)
    SELECT NEW.organisation_id, NEW.family_id, 'plan', i.plan_id, 'upsert'
    FROM plan_items i WHERE i.organisation_id = NEW.organisation_id AND i.id = NEW.plan_item_id;
    RETURN NULL;
END
$$;

DROP TRIGGER plan_items_sync ON plan_items;
CREATE TRIGGER plan_items_sync AFTER INSERT OR UPDATE OR DELETE ON plan_items
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('plan', 'plan_id', 'family_id');
DROP TRIGGER plan_item_updates_sync ON plan_item_updates;
CREATE TRIGGER plan_item_updates_sync AFTER INSERT ON plan_item_updates
    FOR EACH ROW EXECUTE FUNCTION record_plan_item_update_change();

ALTER TABLE sync_changes NO FORCE ROW LEVEL SECURITY;
ALTER TABLE plan_items NO FORCE ROW LEVEL SECURITY;
ALTER TABLE plan_item_updates NO FORCE ROW LEVEL SECURITY;
UPDATE sync_changes c SET entity = 'plan', entity_id = i.plan_id
FROM plan_items i
WHERE c.entity = 'planItem' AND i.organisation_id = c.organisation_id AND i.id = c.entity_id;
UPDATE sync_changes c SET entity = 'plan', entity_id = i.plan_id
FROM plan_item_updates u JOIN plan_items i ON i.organisation_id = u.organisation_id AND i.id = u.plan_item_id
WHERE c.entity = 'planItemUpdate' AND u.organisation_id = c.organisation_id AND u.id = c.entity_id;
DELETE FROM sync_changes WHERE entity IN ('planItem', 'planItemUpdate', 'reviewItem');
ALTER TABLE sync_changes FORCE ROW LEVEL SECURITY;
ALTER TABLE plan_items FORCE ROW LEVEL SECURITY;
ALTER TABLE plan_item_updates FORCE ROW LEVEL SECURITY;
