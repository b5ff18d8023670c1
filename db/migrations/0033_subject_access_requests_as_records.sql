-- Subject access requests as records (issue #27): an information-governance officer logs a request, its clock runs
-- from its events, a bundle of what the record holds about the data subjects is proposed item by item, people decide
-- (redactions, releases) without the record ever changing, and each disclosure is kept with the SHA-256 of the document
-- as served. Every row here is a fact, appended.

ALTER TABLE workers DROP CONSTRAINT workers_roles_check;
ALTER TABLE workers ADD CONSTRAINT workers_roles_check CHECK (
    cardinality(roles) > 0 AND roles <@ ARRAY['practitioner', 'coordinator', 'supervisor', 'admin', 'informationGovernance']);

-- The organisation's days off, on which nothing falls due.
CREATE TABLE organisation_holidays (
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    day             date NOT NULL,
    PRIMARY KEY (organisation_id, day)
);
GRANT SELECT, INSERT, DELETE ON organisation_holidays TO kith_app;
ALTER TABLE organisation_holidays ENABLE ROW LEVEL SECURITY;
ALTER TABLE organisation_holidays FORCE ROW LEVEL SECURITY;
CREATE POLICY organisation ON organisation_holidays TO kith_app USING (organisation_id = kith_organisation())
    WITH CHECK (organisation_id = kith_organisation());

CREATE TABLE subject_access_requests (
    organisation_id     uuid NOT NULL,
    id                  uuid NOT NULL,
    -- Who asked: a person of the record, or someone named (a solicitor, a care leaver no longer in the network).
    requester_person_id uuid,
    requester_name      text CHECK (length(requester_name) BETWEEN 1 AND 200),
    acting_for          text NOT NULL CHECK (acting_for IN ('self', 'parentalResponsibility', 'authorisedAgent')),
    received_on         date NOT NULL,
    channel             text CHECK (length(channel) BETWEEN 1 AND 200),
    created_by          uuid NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    CHECK (num_nonnulls(requester_person_id, requester_name) = 1),
    FOREIGN KEY (organisation_id, requester_person_id) REFERENCES people (organisation_id, id),
    FOREIGN KEY (organisation_id, created_by) REFERENCES workers (organisation_id, id)
);

-- The people the request is about, each with their family: the request reaches those families and no other.
CREATE TABLE subject_access_subjects (
    organisation_id uuid NOT NULL,
    request_id      uuid NOT NULL,
    person_id       uuid NOT NULL,
    family_id       uuid NOT NULL,
    PRIMARY KEY (organisation_id, request_id, person_id),
    FOREIGN KEY (organisation_id, request_id) REFERENCES subject_access_requests (organisation_id, id),
    FOREIGN KEY (organisation_id, person_id) REFERENCES people (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id)
);
CREATE INDEX subject_access_subjects_family ON subject_access_subjects (organisation_id, family_id);

CREATE TABLE subject_access_events (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    request_id      uuid NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('identityRequested', 'identityReceived', 'clarificationRequested', 'clarified',
                                                  'extended', 'disclosed', 'refused', 'closed')),
    on_date         date NOT NULL,
    reason          text CHECK (length(reason) BETWEEN 1 AND 2000),
    recorded_by     uuid NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, request_id) REFERENCES subject_access_requests (organisation_id, id),
    FOREIGN KEY (organisation_id, recorded_by) REFERENCES workers (organisation_id, id)
);
CREATE INDEX subject_access_events_request ON subject_access_events (organisation_id, request_id, on_date, recorded_at);

-- A person's decision about one item of the bundle: a redaction withholds the whole item (no `text`) or every
-- occurrence of a span of its text, under an exemption; a release discloses an item proposed for review. The latest
-- decision about an item stands (KithCore's `DisclosureOutcome`).
CREATE TABLE subject_access_decisions (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    request_id      uuid NOT NULL,
    item_id         text NOT NULL CHECK (length(item_id) BETWEEN 1 AND 200),
    kind            text NOT NULL CHECK (kind IN ('redaction', 'release')),
    text            text CHECK (length(text) BETWEEN 1 AND 4000),
    exemption       text CHECK (exemption IN ('thirdParty', 'seriousHarm', 'legalPrivilege', 'courtRecord', 'other')),
    reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    decided_by      uuid NOT NULL,
    decided_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (organisation_id, id),
    CHECK ((kind = 'redaction') = (exemption IS NOT NULL) AND (kind = 'redaction' OR text IS NULL)),
    FOREIGN KEY (organisation_id, request_id) REFERENCES subject_access_requests (organisation_id, id),
    FOREIGN KEY (organisation_id, decided_by) REFERENCES workers (organisation_id, id)
);
CREATE INDEX subject_access_decisions_request ON subject_access_decisions (organisation_id, request_id, decided_at);

-- Each disclosure: the document exactly as served, and its SHA-256.
CREATE TABLE subject_access_disclosures (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    request_id      uuid NOT NULL,
    document        text NOT NULL,
    sha256          bytea NOT NULL CHECK (length(sha256) = 32),
    items_disclosed integer NOT NULL,
    items_withheld  integer NOT NULL,
    created_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, request_id) REFERENCES subject_access_requests (organisation_id, id),
    FOREIGN KEY (organisation_id, created_by) REFERENCES workers (organisation_id, id)
);
CREATE INDEX subject_access_disclosures_request ON subject_access_disclosures (organisation_id, request_id, created_at);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['subject_access_requests', 'subject_access_subjects', 'subject_access_events',
                             'subject_access_decisions', 'subject_access_disclosures'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION refuse_change()', t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()', t || '_no_truncate', t);
        EXECUTE format('GRANT SELECT, INSERT ON %I TO kith_app', t);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY organisation ON %I TO kith_app USING (organisation_id = kith_organisation()) '
                       'WITH CHECK (organisation_id = kith_organisation())', t);
    END LOOP;
END
$$;

-- A read of a family's record through a request names the request.
ALTER TABLE audit_events ADD COLUMN subject_access_request_id uuid;
ALTER TABLE audit_events ADD FOREIGN KEY (organisation_id, subject_access_request_id)
    REFERENCES subject_access_requests (organisation_id, id);
-- kith_audit takes the request as an eleventh argument: db/functions/kith_audit.sql makes it anew.
DROP FUNCTION IF EXISTS kith_audit(uuid, uuid, uuid[], text, text, uuid[], text, boolean[], uuid[], uuid);
