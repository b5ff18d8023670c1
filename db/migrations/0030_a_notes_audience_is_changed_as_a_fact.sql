-- A note's audience is changed as an appended fact (issue #26): narrowed when it should have been restricted, or
-- taken off the family's page. The note keeps the audience it was written with; `current_notes` is every note as it
-- stands, its audience the latest change's, and every read of notes that decides who sees one reads it.
CREATE TABLE note_audience_changes (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    note_id         uuid NOT NULL,
    family_id       uuid NOT NULL,
    audience        text NOT NULL CHECK (audience IN ('professional', 'family', 'restricted')),
    reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    changed_by      uuid NOT NULL,
    changed_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, note_id) REFERENCES notes (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, changed_by) REFERENCES workers (organisation_id, id)
);
CREATE INDEX note_audience_changes_note ON note_audience_changes (organisation_id, note_id, changed_at DESC, id DESC);
CREATE TRIGGER note_audience_changes_append_only BEFORE UPDATE OR DELETE ON note_audience_changes
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER note_audience_changes_no_truncate BEFORE TRUNCATE ON note_audience_changes
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
-- Devices hear of it as a change of the note: those who may no longer read it are told to drop it.
CREATE TRIGGER note_audience_changes_sync AFTER INSERT ON note_audience_changes
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('note', 'note_id', 'family_id');
GRANT SELECT, INSERT ON note_audience_changes TO kith_app;
ALTER TABLE note_audience_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE note_audience_changes FORCE ROW LEVEL SECURITY;
CREATE POLICY organisation ON note_audience_changes TO kith_app USING (organisation_id = kith_organisation())
    WITH CHECK (organisation_id = kith_organisation());

-- As the reader: the wall's policies apply to whoever reads through it.
CREATE VIEW current_notes WITH (security_invoker = true) AS
SELECT n.organisation_id, n.id, n.family_id, n.contact_id,
       coalesce((SELECT c.audience FROM note_audience_changes c
                 WHERE c.organisation_id = n.organisation_id AND c.note_id = n.id
                 ORDER BY c.changed_at DESC, c.id DESC LIMIT 1), n.audience) AS audience,
       n.written_with_family, n.author_id, n.created_at, n.device_recorded_at, n.source_device_id, n.late_after_reallocation,
       n.clock_suspect, n.refiled_from
FROM notes n;
GRANT SELECT ON current_notes TO kith_app;
