-- A note written for the family and shown on their page, then withdrawn, refiled or narrowed, may have been shown to
-- the wrong family or wider than it should have been: a personal-data breach the council decides on within 72 hours
-- (UK GDPR Art. 33). Kith opens a data incident when that happens, for the family's supervisors to decide on; the
-- incident and each decision are appended facts. Who saw the note is read from the audit of the family's page.
CREATE TABLE data_incidents (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('familyPageDisclosure')),
    family_id       uuid NOT NULL,
    note_id         uuid NOT NULL,
    opened_at       timestamptz NOT NULL DEFAULT now(),
    opened_by       uuid NOT NULL,
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, note_id) REFERENCES notes (organisation_id, id),
    FOREIGN KEY (organisation_id, opened_by) REFERENCES workers (organisation_id, id)
);
CREATE INDEX data_incidents_family ON data_incidents (organisation_id, family_id);
CREATE TABLE incident_decisions (
    organisation_id       uuid NOT NULL,
    id                    uuid NOT NULL,
    incident_id           uuid NOT NULL,
    reported_to_regulator boolean NOT NULL,
    reason                text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    decided_by            uuid NOT NULL,
    decided_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, incident_id) REFERENCES data_incidents (organisation_id, id),
    FOREIGN KEY (organisation_id, decided_by) REFERENCES workers (organisation_id, id)
);
CREATE INDEX incident_decisions_incident ON incident_decisions (organisation_id, incident_id, decided_at);
CREATE TRIGGER data_incidents_append_only BEFORE UPDATE OR DELETE ON data_incidents
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER data_incidents_no_truncate BEFORE TRUNCATE ON data_incidents
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER incident_decisions_append_only BEFORE UPDATE OR DELETE ON incident_decisions
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER incident_decisions_no_truncate BEFORE TRUNCATE ON incident_decisions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
GRANT SELECT, INSERT ON data_incidents, incident_decisions TO kith_app;
ALTER TABLE data_incidents ENABLE ROW LEVEL SECURITY;
ALTER TABLE data_incidents FORCE ROW LEVEL SECURITY;
CREATE POLICY organisation ON data_incidents TO kith_app USING (organisation_id = kith_organisation())
    WITH CHECK (organisation_id = kith_organisation());
ALTER TABLE incident_decisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE incident_decisions FORCE ROW LEVEL SECURITY;
CREATE POLICY organisation ON incident_decisions TO kith_app USING (organisation_id = kith_organisation())
    WITH CHECK (organisation_id = kith_organisation());

-- Each new incident reaches the family's supervisors as a review item.
ALTER TABLE review_items DROP CONSTRAINT review_items_kind_check;
ALTER TABLE review_items ADD CONSTRAINT review_items_kind_check
    CHECK (kind IN ('rejected', 'conflict', 'late', 'proposal', 'quarantined', 'familyWords', 'handover', 'accessGranted',
                    'incident'));
