-- Joiners and leavers from the council's identity provider (SCIM 2.0, issue #25). The provider's provisioning service
-- holds a bearer token an administrator made for it: only its SHA-256 is kept here, it expires, and revoking it stops
-- it at once. It acts for the organisation, not for any worker, so its changes are audited as its own.
CREATE TABLE scim_tokens (
    organisation_id uuid NOT NULL REFERENCES organisations(id),
    id              uuid NOT NULL,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    token_hash      bytea NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      uuid NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    revoked_by      uuid,
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, created_by) REFERENCES workers(organisation_id, id),
    FOREIGN KEY (organisation_id, revoked_by) REFERENCES workers(organisation_id, id),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
GRANT SELECT, INSERT, UPDATE ON scim_tokens TO kith_app;
ALTER TABLE scim_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE scim_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY organisation ON scim_tokens TO kith_app
    USING (organisation_id = kith_organisation()) WITH CHECK (organisation_id = kith_organisation());
-- A SCIM request's token is looked up before its organisation is known (kith_scim_token).
GRANT SELECT ON scim_tokens TO kith_definer;
CREATE POLICY definer_reads ON scim_tokens FOR SELECT TO kith_definer USING (true);

-- What the provider says of a person that Kith keeps beside the worker: their given and family names (the name Kith
-- shows is `name`, the provider's displayName), when SCIM removed them (DELETE: the worker and their records stay, the
-- provider no longer sees them), and when the worker last changed, for SCIM's meta.lastModified.
ALTER TABLE workers ADD COLUMN given_name text CHECK (length(given_name) BETWEEN 1 AND 500);
ALTER TABLE workers ADD COLUMN family_name text CHECK (length(family_name) BETWEEN 1 AND 500);
ALTER TABLE workers ADD COLUMN scim_removed_at timestamptz;
ALTER TABLE workers ADD COLUMN changed_at timestamptz NOT NULL DEFAULT now();

-- An event is by a worker, a family member on their page, or the provider through a SCIM token; a sign-in through the
-- provider refused for a subject who is no active worker is by nobody.
ALTER TABLE audit_events ADD COLUMN scim_token_id uuid;
ALTER TABLE audit_events ADD FOREIGN KEY (organisation_id, scim_token_id) REFERENCES scim_tokens (organisation_id, id);
ALTER TABLE audit_events DROP CONSTRAINT audit_events_one_actor;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_one_actor CHECK (
    num_nonnulls(worker_id, person_id, scim_token_id) = 1
    OR (num_nonnulls(worker_id, person_id, scim_token_id) = 0 AND action = 'signIn'));
-- kith_audit takes the token as a tenth argument: db/functions/kith_audit.sql makes it anew (on a database made from
-- nothing, the functions come after every migration, so there is no older one to drop).
DROP FUNCTION IF EXISTS kith_audit(uuid, uuid, uuid[], text, text, uuid[], text, boolean[], uuid[]);
