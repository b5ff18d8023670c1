-- A note filed in error is withdrawn (issue #26): a fact appended beside it, never a deletion or an edit. A withdrawn
-- note leaves the family's timeline, the family's page and devices' views; it stays, with every revision, in the note's
-- own read, the export and the audit, marked withdrawn. A note is withdrawn once.
CREATE TABLE note_withdrawals (
    organisation_id uuid NOT NULL,
    note_id         uuid NOT NULL,
    family_id       uuid NOT NULL,
    reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    withdrawn_by    uuid NOT NULL,
    withdrawn_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, note_id),
    FOREIGN KEY (organisation_id, note_id) REFERENCES notes (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, withdrawn_by) REFERENCES workers (organisation_id, id)
);
CREATE TRIGGER note_withdrawals_append_only BEFORE UPDATE OR DELETE ON note_withdrawals
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER note_withdrawals_no_truncate BEFORE TRUNCATE ON note_withdrawals
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
-- Devices hear of it as a change of the note: the pull delivers the note with `withdrawn` set.
CREATE TRIGGER note_withdrawals_sync AFTER INSERT ON note_withdrawals
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('note', 'note_id', 'family_id');
GRANT SELECT, INSERT ON note_withdrawals TO kith_app;
ALTER TABLE note_withdrawals ENABLE ROW LEVEL SECURITY;
ALTER TABLE note_withdrawals FORCE ROW LEVEL SECURITY;
CREATE POLICY organisation ON note_withdrawals TO kith_app USING (organisation_id = kith_organisation())
    WITH CHECK (organisation_id = kith_organisation());
