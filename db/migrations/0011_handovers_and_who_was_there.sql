-- Handovers written by the people in them, and who was present at a contact.

-- A handover is written by the outgoing worker on their own allocation (or by the family's supervisors), before or
-- when the allocation ends. Writing it again adds a version; the allocation shows the newest, the earlier ones stay.
CREATE TABLE handover_notes (
    organisation_id        uuid NOT NULL,
    id                     uuid NOT NULL,
    allocation_id          uuid NOT NULL,
    family_id              uuid NOT NULL,
    version                integer NOT NULL CHECK (version >= 1),
    note                   text NOT NULL CHECK (length(note) BETWEEN 1 AND 65536),
    -- The contact both workers went to, if there was one (the joint handover visit).
    joint_visit_contact_id uuid,
    written_by             uuid NOT NULL,
    written_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    UNIQUE (organisation_id, allocation_id, version),
    FOREIGN KEY (organisation_id, allocation_id) REFERENCES allocations (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, joint_visit_contact_id) REFERENCES contacts (organisation_id, id),
    FOREIGN KEY (organisation_id, written_by) REFERENCES workers (organisation_id, id)
);
CREATE TRIGGER handover_notes_append_only BEFORE UPDATE OR DELETE ON handover_notes
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER handover_notes_no_truncate BEFORE TRUNCATE ON handover_notes
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- The newest version, kept on the allocation too, so the handovers view, the timeline and sync read it as before.
ALTER TABLE allocations ADD COLUMN handover_written_by uuid;
ALTER TABLE allocations ADD COLUMN handover_written_at timestamptz;
ALTER TABLE allocations ADD COLUMN joint_visit_contact_id uuid;
ALTER TABLE allocations ADD FOREIGN KEY (organisation_id, handover_written_by) REFERENCES workers (organisation_id, id);
ALTER TABLE allocations ADD FOREIGN KEY (organisation_id, joint_visit_contact_id) REFERENCES contacts (organisation_id, id);

-- Notes written before this migration become each allocation's first version, by whoever ended it.
INSERT INTO handover_notes (organisation_id, id, allocation_id, family_id, version, note, written_by, written_at)
SELECT a.organisation_id, gen_random_uuid(), a.id, a.family_id, 1, a.handover_note, coalesce(a.ended_by, a.created_by),
       coalesce(a.ended_on::timestamptz, a.created_at)
FROM allocations a WHERE coalesce(btrim(a.handover_note), '') <> '';
UPDATE allocations SET handover_written_by = coalesce(ended_by, created_by),
                       handover_written_at = coalesce(ended_on::timestamptz, created_at)
WHERE coalesce(btrim(handover_note), '') <> '';

-- "Handover to read": the incoming worker's review item until they acknowledge it.
ALTER TABLE review_items DROP CONSTRAINT review_items_kind_check;
ALTER TABLE review_items ADD CONSTRAINT review_items_kind_check
    CHECK (kind IN ('rejected', 'conflict', 'late', 'proposal', 'quarantined', 'familyWords', 'handover'));

-- Other professionals and interpreters at a contact, by name and role: people who are neither Kith workers nor in the
-- family's network.
ALTER TABLE contacts ADD COLUMN others_present jsonb NOT NULL DEFAULT '[]'
    CHECK (jsonb_typeof(others_present) = 'array' AND jsonb_array_length(others_present) <= 20);

GRANT SELECT, INSERT ON handover_notes TO kith_app;
ALTER TABLE handover_notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE handover_notes FORCE ROW LEVEL SECURITY;
CREATE POLICY organisation ON handover_notes TO kith_app USING (organisation_id = kith_organisation())
    WITH CHECK (organisation_id = kith_organisation());
