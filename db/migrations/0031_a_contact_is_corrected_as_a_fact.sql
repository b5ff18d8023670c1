-- A contact is corrected, or withdrawn when recorded on the wrong family, as appended facts (issue #26); and a contact
-- can say which children in focus were seen, and seen alone.

-- Per child in focus, as recorded: [{personId, seen, seenAlone}]. Empty when the contact said only `child_seen`, the
-- summary, which then stands for every child in focus.
ALTER TABLE contacts ADD COLUMN children_seen jsonb NOT NULL DEFAULT '[]'
    CHECK (jsonb_typeof(children_seen) = 'array' AND jsonb_array_length(children_seen) <= 20);

-- Each correction holds what it changed and nothing else: a NULL column is a value it left as it was. A value once
-- recorded can be corrected, never taken back to "not recorded".
CREATE TABLE contact_corrections (
    organisation_id    uuid NOT NULL,
    id                 uuid NOT NULL,
    contact_id         uuid NOT NULL,
    family_id          uuid NOT NULL,
    occurred_at        timestamptz,
    kind               text CHECK (kind IN ('homeVisit', 'phone', 'video', 'school', 'office', 'conference', 'other')),
    child_seen         boolean,
    child_seen_alone   boolean,
    duration_minutes   integer CHECK (duration_minutes BETWEEN 0 AND 1440),
    present_person_ids jsonb CHECK (jsonb_typeof(present_person_ids) = 'array' AND jsonb_array_length(present_person_ids) <= 100),
    children_seen      jsonb CHECK (jsonb_typeof(children_seen) = 'array' AND jsonb_array_length(children_seen) <= 20),
    reason             text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    corrected_by       uuid NOT NULL,
    corrected_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, contact_id) REFERENCES contacts (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, corrected_by) REFERENCES workers (organisation_id, id)
);
CREATE INDEX contact_corrections_contact ON contact_corrections (organisation_id, contact_id, corrected_at, id);
CREATE TRIGGER contact_corrections_append_only BEFORE UPDATE OR DELETE ON contact_corrections
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER contact_corrections_no_truncate BEFORE TRUNCATE ON contact_corrections
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
-- Devices hear of it as a change of the contact: the pull delivers it as corrected.
CREATE TRIGGER contact_corrections_sync AFTER INSERT ON contact_corrections
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('contact', 'contact_id', 'family_id');
GRANT SELECT, INSERT ON contact_corrections TO kith_app;
ALTER TABLE contact_corrections ENABLE ROW LEVEL SECURITY;
ALTER TABLE contact_corrections FORCE ROW LEVEL SECURITY;
CREATE POLICY organisation ON contact_corrections TO kith_app USING (organisation_id = kith_organisation())
    WITH CHECK (organisation_id = kith_organisation());

-- A contact recorded on the wrong family, withdrawn once: it leaves the timeline, the measures and devices' views, and
-- stays, marked, in its own read and the export.
CREATE TABLE contact_withdrawals (
    organisation_id uuid NOT NULL,
    contact_id      uuid NOT NULL,
    family_id       uuid NOT NULL,
    reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    withdrawn_by    uuid NOT NULL,
    withdrawn_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, contact_id),
    FOREIGN KEY (organisation_id, contact_id) REFERENCES contacts (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, withdrawn_by) REFERENCES workers (organisation_id, id)
);
CREATE TRIGGER contact_withdrawals_append_only BEFORE UPDATE OR DELETE ON contact_withdrawals
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER contact_withdrawals_no_truncate BEFORE TRUNCATE ON contact_withdrawals
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER contact_withdrawals_sync AFTER INSERT ON contact_withdrawals
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('contact', 'contact_id', 'family_id');
GRANT SELECT, INSERT ON contact_withdrawals TO kith_app;
ALTER TABLE contact_withdrawals ENABLE ROW LEVEL SECURITY;
ALTER TABLE contact_withdrawals FORCE ROW LEVEL SECURITY;
CREATE POLICY organisation ON contact_withdrawals TO kith_app USING (organisation_id = kith_organisation())
    WITH CHECK (organisation_id = kith_organisation());

-- Every contact as it stands: each field the latest correction's that changed it, else as recorded;
-- `present_person_ids` is NULL when no correction changed who was there (then contact_people holds them); `withdrawn_at`
-- set for a withdrawn one. Corrections are few, so they are grouped once and joined, not looked up contact by contact.
-- As the reader: the wall's policies apply to whoever reads through it.
CREATE VIEW current_contacts WITH (security_invoker = true) AS
SELECT c.organisation_id, c.id, c.family_id,
       coalesce(k.occurred_at, c.occurred_at) AS occurred_at,
       coalesce(k.duration_minutes, c.duration_minutes) AS duration_minutes,
       coalesce(k.kind, c.kind) AS kind,
       c.location,
       coalesce(k.child_seen, c.child_seen) AS child_seen,
       coalesce(k.child_seen_alone, c.child_seen_alone) AS child_seen_alone,
       coalesce(k.children_seen, c.children_seen) AS children_seen,
       k.present_person_ids,
       c.recorded_by, c.recorded_at, c.device_recorded_at, c.clock_suspect, c.source_device_id,
       c.late_after_reallocation, c.others_present,
       k.contact_id IS NOT NULL AS corrected,
       w.withdrawn_at, w.withdrawn_by, w.reason AS withdrawn_reason
FROM contacts c
LEFT JOIN (
    SELECT organisation_id, contact_id,
           (array_agg(occurred_at ORDER BY corrected_at DESC, id DESC) FILTER (WHERE occurred_at IS NOT NULL))[1] AS occurred_at,
           (array_agg(duration_minutes ORDER BY corrected_at DESC, id DESC) FILTER (WHERE duration_minutes IS NOT NULL))[1] AS duration_minutes,
           (array_agg(kind ORDER BY corrected_at DESC, id DESC) FILTER (WHERE kind IS NOT NULL))[1] AS kind,
           (array_agg(child_seen ORDER BY corrected_at DESC, id DESC) FILTER (WHERE child_seen IS NOT NULL))[1] AS child_seen,
           (array_agg(child_seen_alone ORDER BY corrected_at DESC, id DESC) FILTER (WHERE child_seen_alone IS NOT NULL))[1] AS child_seen_alone,
           (array_agg(children_seen ORDER BY corrected_at DESC, id DESC) FILTER (WHERE children_seen IS NOT NULL))[1] AS children_seen,
           (array_agg(present_person_ids ORDER BY corrected_at DESC, id DESC) FILTER (WHERE present_person_ids IS NOT NULL))[1] AS present_person_ids
    FROM contact_corrections
    GROUP BY organisation_id, contact_id
) k ON k.organisation_id = c.organisation_id AND k.contact_id = c.id
LEFT JOIN contact_withdrawals w ON w.organisation_id = c.organisation_id AND w.contact_id = c.id;
GRANT SELECT ON current_contacts TO kith_app;
