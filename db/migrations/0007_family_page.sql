-- The family's own page: network members invited by their worker read what was written for them and answer in their
-- own words. A family member is a principal of their own (a person of the family's network, never a worker): their
-- words and their reads are attributed to the person.

-- A person leaves the network (a relationship ends, a grandparent moves away): their family page closes that day.
ALTER TABLE people ADD COLUMN left_network_on date;

-- What the outgoing worker writes to the family when an allocation ends, shown on the family's page.
ALTER TABLE allocations ADD COLUMN letter_to_family text CHECK (length(letter_to_family) <= 8000);

-- An invitation is a link (its secret kept only as a SHA-256) and a short code told in person (kept as an HMAC of the
-- code under the link's secret, so the stored value alone cannot be tried against the million codes).
CREATE TABLE family_invitations (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    family_id       uuid NOT NULL,
    person_id       uuid NOT NULL,
    link_hash       bytea NOT NULL UNIQUE,
    code_hash       bytea NOT NULL,
    created_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- An invitation nobody opened lapses then; once opened, it stands until revoked or the person's access ends.
    expires_at      timestamptz NOT NULL,
    opened_at       timestamptz,
    revoked_at      timestamptz,
    revoked_by      uuid,
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, person_id) REFERENCES people (organisation_id, id),
    FOREIGN KEY (organisation_id, created_by) REFERENCES workers (organisation_id, id),
    FOREIGN KEY (organisation_id, revoked_by) REFERENCES workers (organisation_id, id)
);
CREATE INDEX family_invitations_family ON family_invitations (organisation_id, family_id, created_at);

-- A browser's session on the family page (the cookie's secret kept as a SHA-256).
CREATE TABLE family_sessions (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    invitation_id   uuid NOT NULL,
    family_id       uuid NOT NULL,
    person_id       uuid NOT NULL,
    token_hash      bytea NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, invitation_id) REFERENCES family_invitations (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, person_id) REFERENCES people (organisation_id, id)
);
CREATE INDEX family_sessions_invitation ON family_sessions (organisation_id, invitation_id);

-- A family member's message to their worker, in their own words. Append-only like notes.
CREATE TABLE family_messages (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    family_id       uuid NOT NULL,
    person_id       uuid NOT NULL,
    text            text NOT NULL CHECK (length(text) BETWEEN 1 AND 4000),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, person_id) REFERENCES people (organisation_id, id)
);
CREATE INDEX family_messages_family ON family_messages (organisation_id, family_id, created_at);
CREATE INDEX family_messages_person ON family_messages (organisation_id, person_id, created_at);
CREATE TRIGGER family_messages_append_only BEFORE UPDATE OR DELETE ON family_messages
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER family_messages_no_truncate BEFORE TRUNCATE ON family_messages
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER family_messages_sync AFTER INSERT OR UPDATE OR DELETE ON family_messages
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('familyMessage', 'id', 'family_id');

-- Progress on a plan item may be a family member's own words: exactly one of a worker or a person wrote it.
ALTER TABLE plan_item_updates ALTER COLUMN author_id DROP NOT NULL;
ALTER TABLE plan_item_updates ADD COLUMN person_id uuid;
ALTER TABLE plan_item_updates ADD FOREIGN KEY (organisation_id, person_id) REFERENCES people (organisation_id, id);
ALTER TABLE plan_item_updates ADD CONSTRAINT plan_item_updates_one_author CHECK ((author_id IS NULL) <> (person_id IS NULL));
CREATE INDEX plan_item_updates_person ON plan_item_updates (organisation_id, person_id, created_at) WHERE person_id IS NOT NULL;

-- A family member's page views and words are audited as the person.
ALTER TABLE audit_events ALTER COLUMN worker_id DROP NOT NULL;
ALTER TABLE audit_events ADD COLUMN person_id uuid;
ALTER TABLE audit_events ADD FOREIGN KEY (organisation_id, person_id) REFERENCES people (organisation_id, id);
ALTER TABLE audit_events ADD CONSTRAINT audit_events_one_actor CHECK ((worker_id IS NULL) <> (person_id IS NULL));

-- A family's words reach their allocated worker's review queue.
ALTER TABLE review_items DROP CONSTRAINT review_items_kind_check;
ALTER TABLE review_items ADD CONSTRAINT review_items_kind_check
    CHECK (kind IN ('rejected', 'conflict', 'late', 'proposal', 'quarantined', 'familyWords'));

GRANT SELECT, INSERT ON family_invitations, family_sessions, family_messages TO kith_app;
GRANT UPDATE ON family_invitations, family_sessions TO kith_app;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['family_invitations', 'family_sessions', 'family_messages'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY organisation ON %I TO kith_app USING (organisation_id = kith_organisation()) '
            'WITH CHECK (organisation_id = kith_organisation())', t);
    END LOOP;
END
$$;

-- Before the organisation is known, a link or a cookie is looked up by the narrow functions below.
GRANT SELECT ON family_invitations, family_sessions, people, families TO kith_definer;
CREATE POLICY definer_reads ON family_invitations FOR SELECT TO kith_definer USING (true);
CREATE POLICY definer_reads ON family_sessions FOR SELECT TO kith_definer USING (true);
CREATE POLICY definer_reads ON people FOR SELECT TO kith_definer USING (true);
CREATE POLICY definer_reads ON families FOR SELECT TO kith_definer USING (true);

-- Whether a person may still use the family page: in the network and the family open.
CREATE FUNCTION kith_family_member_active(organisation_id uuid, person_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT EXISTS (
        SELECT 1 FROM people p JOIN families f ON f.organisation_id = p.organisation_id AND f.id = p.family_id
        WHERE p.organisation_id = kith_family_member_active.organisation_id AND p.id = kith_family_member_active.person_id
          AND (p.left_network_on IS NULL OR p.left_network_on > current_date) AND f.status = 'open')
$$;

-- The invitation behind a link (by its secret's SHA-256), and what state it is in.
CREATE FUNCTION kith_family_invitation(link_hash bytea)
RETURNS TABLE (organisation_id uuid, invitation_id uuid, family_id uuid, person_id uuid, code_hash bytea, state text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT i.organisation_id, i.id, i.family_id, i.person_id, i.code_hash,
           CASE WHEN i.revoked_at IS NOT NULL THEN 'revoked'
                WHEN NOT kith_family_member_active(i.organisation_id, i.person_id) THEN 'ended'
                WHEN i.opened_at IS NULL AND i.expires_at <= now() THEN 'expired'
                ELSE 'open' END
    FROM family_invitations i WHERE i.link_hash = kith_family_invitation.link_hash
$$;

-- A code attempt, reserved before the code is checked (as kith_begin_sign_in does for passwords): at most
-- `invitation_limit` wrong codes per invitation and `address_limit` per address in `window_seconds`. retry_after > 0:
-- refused, nothing reserved. kith_family_code_accepted clears the invitation's failures.
CREATE FUNCTION kith_family_code_attempt(
    link_hash bytea, address_key bytea, invitation_limit integer, address_limit integer, window_seconds integer)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    since timestamptz := clock_timestamp() - make_interval(secs => window_seconds);
    invitation_key bytea := sha256('invitation:'::bytea || link_hash);
    oldest timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('kith sign-in ' || encode(invitation_key, 'hex'), 0));
    PERFORM pg_advisory_xact_lock(hashtextextended('kith sign-in ' || encode(address_key, 'hex'), 0));
    SELECT min(f.failed_at) INTO oldest FROM (
        SELECT failed_at FROM login_failures WHERE key_hash = invitation_key AND failed_at > since
        ORDER BY failed_at DESC OFFSET invitation_limit - 1 LIMIT 1) f;
    IF oldest IS NOT NULL THEN
        RETURN greatest(1, ceil(extract(epoch FROM oldest - since))::integer);
    END IF;
    SELECT min(f.failed_at) INTO oldest FROM (
        SELECT failed_at FROM login_failures WHERE key_hash = address_key AND failed_at > since
        ORDER BY failed_at DESC OFFSET address_limit - 1 LIMIT 1) f;
    IF oldest IS NOT NULL THEN
        RETURN greatest(1, ceil(extract(epoch FROM oldest - since))::integer);
    END IF;
    DELETE FROM login_failures f WHERE f.key_hash IN (invitation_key, address_key) AND f.failed_at <= since;
    INSERT INTO login_failures (key_hash, failed_at) VALUES (invitation_key, clock_timestamp()), (address_key, clock_timestamp());
    RETURN 0;
END
$$;

CREATE FUNCTION kith_family_code_accepted(link_hash bytea) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    DELETE FROM login_failures WHERE key_hash = sha256('invitation:'::bytea || link_hash)
$$;

-- The family member behind a page cookie (by its secret's SHA-256), and whether the session still stands.
CREATE FUNCTION kith_family_session(token_hash bytea)
RETURNS TABLE (organisation_id uuid, session_id uuid, invitation_id uuid, family_id uuid, person_id uuid, valid boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT s.organisation_id, s.id, s.invitation_id, s.family_id, s.person_id,
           s.revoked_at IS NULL AND s.expires_at > now() AND i.revoked_at IS NULL
               AND kith_family_member_active(s.organisation_id, s.person_id)
    FROM family_sessions s
    JOIN family_invitations i ON i.organisation_id = s.organisation_id AND i.id = s.invitation_id
    WHERE s.token_hash = kith_family_session.token_hash
$$;

GRANT CREATE ON SCHEMA public TO kith_definer;
ALTER FUNCTION kith_family_member_active(uuid, uuid) OWNER TO kith_definer;
ALTER FUNCTION kith_family_invitation(bytea) OWNER TO kith_definer;
ALTER FUNCTION kith_family_code_attempt(bytea, bytea, integer, integer, integer) OWNER TO kith_definer;
ALTER FUNCTION kith_family_code_accepted(bytea) OWNER TO kith_definer;
ALTER FUNCTION kith_family_session(bytea) OWNER TO kith_definer;
REVOKE CREATE ON SCHEMA public FROM kith_definer;
REVOKE EXECUTE ON FUNCTION kith_family_member_active(uuid, uuid), kith_family_invitation(bytea),
    kith_family_code_attempt(bytea, bytea, integer, integer, integer), kith_family_code_accepted(bytea),
    kith_family_session(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kith_family_member_active(uuid, uuid), kith_family_invitation(bytea),
    kith_family_code_attempt(bytea, bytea, integer, integer, integer), kith_family_code_accepted(bytea),
    kith_family_session(bytea) TO kith_app;
