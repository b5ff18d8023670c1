-- Certified disposal (issue #27): a closed family past its retention, held by nothing, is proposed for disposal by one
-- information-governance officer and approved by another; the operator's `kith-server dispose` then deletes every row
-- of it and keeps a certificate. The server's own role keeps no DELETE on the record: deleting is kith_disposer's, a
-- role nobody logs in as, of which the tables' owner is a member, and which the append-only record lets through only in
-- a transaction marked as disposing (refuse_change).

-- What holds a family against disposal, said once: an open legal hold on it or on its team, or an open subject access
-- request naming one of its people (open: neither refused nor closed, SubjectAccessEventKind.closing). As the reader.
CREATE VIEW family_holds WITH (security_invoker = true) AS
SELECT f.organisation_id, f.id AS family_id, 'legalHold' AS kind, l.id, l.reason, l.placed_at AS since
FROM families f
JOIN legal_holds l ON l.organisation_id = f.organisation_id AND (l.family_id = f.id OR l.team_id = f.team_id)
WHERE NOT EXISTS (SELECT 1 FROM legal_hold_releases r WHERE r.organisation_id = l.organisation_id AND r.hold_id = l.id)
UNION ALL
SELECT DISTINCT s.organisation_id, s.family_id, 'subjectAccessRequest', q.id, NULL, q.created_at
FROM subject_access_subjects s
JOIN subject_access_requests q ON q.organisation_id = s.organisation_id AND q.id = s.request_id
WHERE NOT EXISTS (SELECT 1 FROM subject_access_events e
                  WHERE e.organisation_id = q.organisation_id AND e.request_id = q.id AND e.kind IN ('refused', 'closed'));
GRANT SELECT ON family_holds TO kith_app;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kith_disposer') THEN
        CREATE ROLE kith_disposer NOLOGIN;
    END IF;
END
$$;
GRANT kith_disposer TO CURRENT_USER;

-- A batch holds the families as they were when proposed: their rule, the day they were kept until, their closing.
CREATE TABLE disposal_batches (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    families        jsonb NOT NULL CHECK (jsonb_typeof(families) = 'array' AND jsonb_array_length(families) BETWEEN 1 AND 500),
    proposed_by     uuid NOT NULL,
    proposed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, proposed_by) REFERENCES workers (organisation_id, id)
);

CREATE TABLE disposal_approvals (
    organisation_id uuid NOT NULL,
    batch_id        uuid NOT NULL,
    approved_by     uuid NOT NULL,
    approved_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, batch_id),
    FOREIGN KEY (organisation_id, batch_id) REFERENCES disposal_batches (organisation_id, id),
    FOREIGN KEY (organisation_id, approved_by) REFERENCES workers (organisation_id, id)
);

-- The certificate is also the family's tombstone: the family's id outlives it here, and nowhere else. It stands on its
-- own (no reference to its batch), so that one written back after restoring a backup older than the batch still holds.
CREATE TABLE disposal_certificates (
    organisation_id    uuid NOT NULL,
    id                 uuid NOT NULL,
    batch_id           uuid NOT NULL,
    family_id          uuid NOT NULL,
    rule               text NOT NULL,
    retain_until       date,
    closed_on          date,
    row_counts         jsonb NOT NULL,
    deleted_ids_sha256 bytea NOT NULL CHECK (length(deleted_ids_sha256) = 32),
    proposed_by        uuid NOT NULL,
    approved_by        uuid NOT NULL,
    disposed_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    UNIQUE (organisation_id, family_id)
);

-- A device that held a disposed family is told to purge it until it says it has.
CREATE TABLE disposal_purges (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    device_id       uuid NOT NULL,
    family_id       uuid NOT NULL,
    certificate_id  uuid NOT NULL,
    acked_at        timestamptz,
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, device_id) REFERENCES devices (organisation_id, id),
    FOREIGN KEY (organisation_id, certificate_id) REFERENCES disposal_certificates (organisation_id, id)
);
CREATE INDEX disposal_purges_device ON disposal_purges (organisation_id, device_id) WHERE acked_at IS NULL;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['disposal_batches', 'disposal_approvals', 'disposal_certificates'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION refuse_change()', t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()', t || '_no_truncate', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['disposal_batches', 'disposal_approvals', 'disposal_certificates', 'disposal_purges'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY organisation ON %I TO kith_app USING (organisation_id = kith_organisation()) '
                       'WITH CHECK (organisation_id = kith_organisation())', t);
    END LOOP;
    -- The disposer reads what was approved in every organisation, and deletes and certifies in the one it works in.
    FOREACH t IN ARRAY ARRAY['disposal_batches', 'disposal_approvals', 'disposal_certificates'] LOOP
        EXECUTE format('CREATE POLICY disposer_reads ON %I FOR SELECT TO kith_disposer USING (true)', t);
    END LOOP;
    -- Every organisation's table: the disposer sees and deletes the rows of the organisation it works in.
    FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
             WHERE c.relkind = 'r' AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                                                AND a.attname = 'organisation_id' AND NOT a.attisdropped) LOOP
        EXECUTE format('GRANT SELECT, DELETE ON %I TO kith_disposer', t);
        EXECUTE format('CREATE POLICY disposer ON %I TO kith_disposer USING (organisation_id = kith_organisation()) '
                       'WITH CHECK (organisation_id = kith_organisation())', t);
    END LOOP;
END
$$;
GRANT SELECT, INSERT ON disposal_batches, disposal_approvals TO kith_app;
GRANT SELECT ON disposal_certificates TO kith_app;
GRANT SELECT, UPDATE (acked_at) ON disposal_purges TO kith_app;
GRANT INSERT ON disposal_certificates, disposal_purges TO kith_disposer;
GRANT SELECT ON family_holds TO kith_disposer;
