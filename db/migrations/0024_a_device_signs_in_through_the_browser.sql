-- A device or terminal without a browser signs in through the organisation's identity provider by the device grant
-- Kith hosts (shaped like RFC 8628): the device holds a device code (only its SHA-256 kept here) and shows a user code;
-- the person types the user code on Kith's page in any browser, which sends them to the provider (authorization code
-- flow with PKCE; the state's SHA-256, the nonce and the verifier kept until the provider answers); the callback
-- approves the sign-in for the worker the provider vouched for, and the device's next poll collects the session, once.
CREATE TABLE device_sign_ins (
    organisation_id  uuid NOT NULL REFERENCES organisations(id),
    id               uuid NOT NULL,
    device_code_hash bytea NOT NULL UNIQUE,
    user_code        text NOT NULL CHECK (user_code ~ '^[A-Z]{4}-[A-Z]{4}$'),
    expires_at       timestamptz NOT NULL,
    interval_seconds integer NOT NULL DEFAULT 5 CHECK (interval_seconds BETWEEN 1 AND 60),
    last_polled_at   timestamptz,
    state_hash       bytea UNIQUE,
    nonce            text,
    code_verifier    text,
    outcome          text CHECK (outcome IN ('approved', 'denied', 'collected')),
    worker_id        uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, worker_id) REFERENCES workers(organisation_id, id),
    CHECK ((outcome IN ('approved', 'collected')) = (worker_id IS NOT NULL))
);
CREATE UNIQUE INDEX device_sign_ins_waiting_user_code ON device_sign_ins (organisation_id, user_code) WHERE outcome IS NULL;
GRANT SELECT, INSERT, UPDATE ON device_sign_ins TO kith_app;
ALTER TABLE device_sign_ins ENABLE ROW LEVEL SECURITY;
ALTER TABLE device_sign_ins FORCE ROW LEVEL SECURITY;
CREATE POLICY organisation ON device_sign_ins TO kith_app
    USING (organisation_id = kith_organisation()) WITH CHECK (organisation_id = kith_organisation());
