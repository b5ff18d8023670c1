-- A family's records are read by family: its timeline, a device's first sync of it, its export, its handover notes.
-- Four tables read that way had no index for it, so each such read scanned every row of the organisation: in the
-- 400-family demo the timeline's plan progress alone was a quarter of the statement's time, and it grew with the
-- organisation, not the family.
CREATE INDEX plan_item_updates_family ON plan_item_updates (organisation_id, family_id, created_at);
CREATE INDEX plan_items_family ON plan_items (organisation_id, family_id);
CREATE INDEX handover_notes_family ON handover_notes (organisation_id, family_id, written_at);
CREATE INDEX conference_participants_family ON conference_participants (organisation_id, family_id);

-- Every audit event checked its organisation against the organisations table, which locked that one row (FOR KEY
-- SHARE) in every transaction that read or wrote anything of a family, organisation-wide. The check said nothing the
-- event's other keys do not: exactly one of worker_id and person_id is set (audit_events_one_actor), and each is a
-- foreign key with organisation_id to a worker or person of that organisation.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_organisation_id_fkey;
