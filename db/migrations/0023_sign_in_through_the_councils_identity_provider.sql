-- An organisation's identity provider (issue #25): where its workers sign in, and whether Kith's own passwords still
-- work for it. One per organisation. `sign_in_name` is what people type (`camden`), unique on the server; the
-- discovery document and the signing keys are kept as last fetched, so a sign-in does not wait on the provider unless
-- a token names a key Kith has not seen.
CREATE TABLE identity_providers (
    organisation_id uuid PRIMARY KEY REFERENCES organisations(id),
    sign_in_name    text NOT NULL UNIQUE CHECK (sign_in_name ~ '^[a-z0-9][a-z0-9-]{1,39}$'),
    issuer          text NOT NULL CHECK (length(issuer) <= 500),
    client_id       text NOT NULL CHECK (length(client_id) <= 500),
    client_secret   text CHECK (length(client_secret) <= 500),
    subject_claim   text NOT NULL DEFAULT 'sub' CHECK (subject_claim ~ '^[A-Za-z_][A-Za-z0-9_]{0,63}$'),
    require_mfa     boolean NOT NULL DEFAULT false,
    passwords       text NOT NULL DEFAULT 'allowed' CHECK (passwords IN ('allowed', 'off')),
    discovery       jsonb NOT NULL,
    jwks            jsonb NOT NULL,
    jwks_fetched_at timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    updated_by      uuid NOT NULL,
    FOREIGN KEY (organisation_id, updated_by) REFERENCES workers(organisation_id, id)
);
GRANT SELECT, INSERT, UPDATE ON identity_providers TO kith_app;
ALTER TABLE identity_providers ENABLE ROW LEVEL SECURITY;
ALTER TABLE identity_providers FORCE ROW LEVEL SECURITY;
CREATE POLICY organisation ON identity_providers TO kith_app
    USING (organisation_id = kith_organisation()) WITH CHECK (organisation_id = kith_organisation());
-- Before the organisation is known, a sign-in finds its provider by name (kith_identity_provider).
GRANT SELECT ON identity_providers TO kith_definer;
CREATE POLICY definer_reads ON identity_providers FOR SELECT TO kith_definer USING (true);

-- Which person at the provider is which worker: the subject (the `sub` claim, or Entra ID's `oid`), unique in the
-- organisation. Matching is on it alone, never on an e-mail address.
ALTER TABLE workers ADD COLUMN sso_subject text CHECK (length(sso_subject) BETWEEN 1 AND 255);
ALTER TABLE workers ADD CONSTRAINT workers_sso_subject_key UNIQUE (organisation_id, sso_subject);

-- Every sign-in is in the organisation's feed (action signIn, its way in as the entity), and so is one through the
-- provider refused because its subject is no active worker's: that event has no actor.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_check
    CHECK (action IN ('read', 'write', 'export', 'breakGlass', 'administer', 'signIn'));
ALTER TABLE audit_events DROP CONSTRAINT audit_events_one_actor;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_one_actor CHECK (
    (worker_id IS NULL) <> (person_id IS NULL)
    OR (worker_id IS NULL AND person_id IS NULL AND action = 'signIn'));
