-- The wall holds against Kith's own bugs, whatever the server's code forgets.
--
-- `serve` connects as kith_server: a member of kith_app and of nothing else, owning nothing, so that a path that never
-- entered the wall, or a statement run before it, sees no organisation's rows (every policy is for kith_app, and no
-- organisation is named), and no RESET ROLE or SET ROLE leads anywhere else. The operator's commands (migrate,
-- create-admin, demo-data, new-sync-generation) keep the owner. The role is made NOLOGIN: the operator gives it LOGIN
-- and a password (docs/operations.md); a role of that name made beforehand is kept as it is, and `serve` refuses to
-- run as anything wider (ServingRole.check).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kith_server') THEN
        CREATE ROLE kith_server NOLOGIN;
    END IF;
END
$$;
GRANT kith_app TO kith_server;

-- The organisation of the wall this transaction entered, for the functions that read or write an organisation's
-- rows: they take it from here, never from an argument, and refuse to run anywhere but behind the wall.
CREATE FUNCTION kith_wall() RETURNS uuid
LANGUAGE plpgsql STABLE AS $$
DECLARE
    organisation uuid := kith_organisation();
BEGIN
    IF organisation IS NULL OR current_user <> 'kith_app' THEN
        RAISE EXCEPTION 'this runs only behind the wall (kith_enter_wall)' USING ERRCODE = '42501';
    END IF;
    RETURN organisation;
END
$$;

-- A token's session also says whether it has expired, so that a revoked device's expired token is refused outright
-- instead of having its push quarantined. kith_request reads it, and is made again below.
DROP FUNCTION kith_request(bytea, boolean, bigint, bigint, uuid[]);
DROP FUNCTION kith_session(bytea);
CREATE FUNCTION kith_session(token_hash bytea)
RETURNS TABLE (organisation_id uuid, session_id uuid, worker_id uuid, device_id uuid, roles text[],
               device_revoked boolean, valid boolean, team_ids uuid[], expired boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    RETURN QUERY
    SELECT s.organisation_id, s.id, s.worker_id, s.device_id, w.roles,
           d.revoked_at IS NOT NULL OR (d.id IS NOT NULL AND coalesce(w.left_on <= current_date, false)),
           s.revoked_at IS NULL AND s.expires_at > now() AND (w.left_on IS NULL OR w.left_on > current_date),
           ARRAY(SELECT tm.team_id FROM team_members tm
                 WHERE tm.organisation_id = s.organisation_id AND tm.worker_id = s.worker_id ORDER BY tm.team_id),
           s.expires_at <= now()
    FROM sessions s
    JOIN workers w ON w.organisation_id = s.organisation_id AND w.id = s.worker_id
    LEFT JOIN devices d ON d.organisation_id = s.organisation_id AND d.id = s.device_id
    WHERE s.token_hash = kith_session.token_hash;
END
$$;

DROP FUNCTION kith_relationships(uuid, uuid, uuid[]);
CREATE FUNCTION kith_relationships(worker uuid, family_ids uuid[])
RETURNS TABLE (family_id uuid, team_id uuid, allocation_role text, break_glass boolean)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    organisation uuid := kith_wall();
BEGIN
    RETURN QUERY
    SELECT f.id, f.team_id,
           (SELECT a.role FROM current_allocations a
             WHERE a.organisation_id = f.organisation_id AND a.family_id = f.id AND a.worker_id = worker
             ORDER BY a.role = 'allocatedWorker' DESC LIMIT 1),
           EXISTS (SELECT 1 FROM break_glass_grants g
                    WHERE g.organisation_id = f.organisation_id AND g.family_id = f.id
                      AND g.worker_id = worker AND g.expires_at > now())
    FROM families f
    WHERE f.organisation_id = organisation AND f.id = ANY(family_ids);
END
$$;

CREATE FUNCTION kith_request(token_hash bytea, generic_plans boolean, statement_ms bigint, idle_ms bigint, family_ids uuid[])
RETURNS TABLE (organisation_id uuid, session_id uuid, worker_id uuid, device_id uuid, roles text[], device_revoked boolean,
               valid boolean, team_ids uuid[], expired boolean, family_id uuid, team_id uuid, allocation_role text,
               break_glass boolean)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    s record;
BEGIN
    SELECT * INTO s FROM kith_session(token_hash);
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM kith_enter_wall(s.organisation_id, generic_plans, statement_ms, idle_ms);
    IF NOT s.valid OR s.device_revoked OR cardinality(family_ids) = 0 THEN
        RETURN QUERY SELECT s.organisation_id, s.session_id, s.worker_id, s.device_id, s.roles, s.device_revoked, s.valid,
                            s.team_ids, s.expired, NULL::uuid, NULL::uuid, NULL::text, NULL::boolean;
        RETURN;
    END IF;
    RETURN QUERY SELECT s.organisation_id, s.session_id, s.worker_id, s.device_id, s.roles, s.device_revoked, s.valid,
                        s.team_ids, s.expired, r.family_id, r.team_id, r.allocation_role, r.break_glass
                 FROM (SELECT) one LEFT JOIN kith_relationships(s.worker_id, family_ids) r ON true;
END
$$;

-- The worker a statement that reads or writes a family's record acts as, behind the wall. A request whose work is one
-- statement enters the wall from its token, not from an organisation it names: the statement is
-- `SELECT … FROM kith_acting_worker(token, …, NULL) AS w(worker), LATERAL kith_…(w.worker, …)`, so the wall is entered
-- before the work reads or writes anything, for the session's organisation and as its worker; a token that no longer
-- stands (the lookup just before may have raced a sign-out) reads and writes nothing, with Kith's own SQLSTATE KT401,
-- which the server answers 401 (not class 28: PostgresNIO takes that for a failed sign-in of its connection). Without a token, the same
-- statement runs inside a transaction already behind the wall, as the worker named (a device owner's quarantined work
-- accepted by a supervisor, say), and refuses anywhere else.
CREATE FUNCTION kith_acting_worker(token_hash bytea, generic_plans boolean, worker uuid) RETURNS uuid
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    s record;
BEGIN
    IF token_hash IS NULL THEN
        PERFORM kith_wall();
        RETURN worker;
    END IF;
    SELECT * INTO s FROM kith_session(token_hash);
    IF NOT FOUND OR NOT s.valid OR s.device_revoked OR s.worker_id IS DISTINCT FROM coalesce(worker, s.worker_id) THEN
        RAISE EXCEPTION 'the session no longer stands' USING ERRCODE = 'KT401';
    END IF;
    PERFORM kith_enter_wall(s.organisation_id, generic_plans, NULL, NULL);
    RETURN s.worker_id;
END
$$;

-- kith_write_notes (0016) and kith_read_timeline (0017), as they were, but behind the wall they are called in.
DROP FUNCTION kith_write_notes(uuid, boolean, uuid, uuid, uuid[], uuid[], uuid[], text[], text[], boolean[], float8[],
                               boolean[], boolean[], text[], text[], text[], text[], text[], text[], boolean[]);
CREATE FUNCTION kith_write_notes(
    worker uuid, device uuid,
    note_ids uuid[], revision_ids uuid[], note_family_ids uuid[], contact_ids text[], audiences text[],
    with_family boolean[], recorded_at float8[], clock_suspect boolean[], late boolean[], bodies text[],
    observed text[], analysis text[], decision text[], family_words text[], next_steps text[], break_glass boolean[])
RETURNS timestamptz
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    organisation uuid := kith_wall();
BEGIN
    IF EXISTS (SELECT 1 FROM unnest(note_family_ids, contact_ids) AS named(family_id, contact_id)
               WHERE named.contact_id <> ''
                 AND NOT EXISTS (SELECT 1 FROM contacts c
                                 WHERE c.organisation_id = organisation AND c.family_id = named.family_id
                                   AND c.id = named.contact_id::uuid))
       OR EXISTS (SELECT 1 FROM notes n WHERE n.organisation_id = organisation AND n.id = ANY(note_ids))
       OR EXISTS (SELECT 1 FROM note_revisions r WHERE r.organisation_id = organisation AND r.id = ANY(revision_ids)) THEN
        RETURN NULL;
    END IF;
    WITH given AS (
        SELECT * FROM unnest(note_ids, revision_ids, note_family_ids, contact_ids, audiences, with_family, recorded_at,
                             clock_suspect, late, bodies, observed, analysis, decision, family_words, next_steps, break_glass)
        AS g(id, revision_id, family_id, contact_id, audience, with_family, recorded_at, clock_suspect, late, body,
             observed, analysis, decision, family_words, next_steps, break_glass)
    ), note AS (
        INSERT INTO notes (organisation_id, id, family_id, contact_id, audience, written_with_family, author_id,
                           source_device_id, device_recorded_at, clock_suspect, late_after_reallocation)
        SELECT organisation, g.id, g.family_id, nullif(g.contact_id, '')::uuid, g.audience, g.with_family, worker, device,
               CASE WHEN g.recorded_at >= 0 THEN to_timestamp(g.recorded_at) END, g.clock_suspect, g.late
        FROM given g
    ), revision AS (
        INSERT INTO note_revisions (organisation_id, id, note_id, family_id, number, body, observed, analysis, decision,
                                    family_words, next_steps, author_id)
        SELECT organisation, g.revision_id, g.id, g.family_id, 1, g.body, nullif(g.observed, ''), nullif(g.analysis, ''),
               nullif(g.decision, ''), nullif(g.family_words, ''), nullif(g.next_steps, ''), worker
        FROM given g
    )
    INSERT INTO audit_events (organisation_id, worker_id, family_id, action, entity, record_id, break_glass)
    SELECT organisation, worker, g.family_id, 'write', 'note', g.id, g.break_glass FROM given g;
    RETURN now();
END
$$;

DROP FUNCTION kith_read_timeline(uuid, boolean, uuid, uuid, boolean, text, uuid, integer, boolean, boolean);
CREATE FUNCTION kith_read_timeline(
    worker uuid, family uuid, sees_restricted boolean, after_key text, after_id uuid, page_size integer,
    glass_if_restricted boolean, glass_otherwise boolean)
RETURNS TABLE (kind text, at timestamptz, id uuid, worker_id uuid, person_id uuid, summary text, detail text, at_key text)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    organisation uuid := kith_wall();
BEGIN
    RETURN QUERY
    WITH entries (kind, at, id, worker_id, person_id, summary, detail, restricted) AS (
        SELECT 'contact', c.occurred_at, c.id, c.recorded_by, NULL::uuid,
               c.kind || CASE WHEN c.child_seen_alone THEN ', child seen alone'
                              WHEN c.child_seen THEN ', child seen' ELSE '' END,
               c.location, false
        FROM contacts c WHERE c.organisation_id = organisation AND c.family_id = family
        UNION ALL
        SELECT 'note', n.created_at, n.id, n.author_id, NULL,
               n.audience || CASE WHEN latest.number > 1 THEN ', amended' ELSE '' END,
               left(latest.body, 280), n.audience = 'restricted'
        FROM notes n
        CROSS JOIN LATERAL (SELECT r.number, r.body FROM note_revisions r
                            WHERE r.organisation_id = n.organisation_id AND r.note_id = n.id
                            ORDER BY r.number DESC LIMIT 1) latest
        WHERE n.organisation_id = organisation AND n.family_id = family
          AND kith_note_readable(n.audience, n.author_id, worker, sees_restricted)
        UNION ALL
        SELECT 'allocationStarted', a.started_on::timestamptz, a.id, a.worker_id, NULL, a.role, NULL, false
        FROM allocations a WHERE a.organisation_id = organisation AND a.family_id = family
        UNION ALL
        SELECT 'allocationEnded', a.ended_on::timestamptz, a.id, a.worker_id, NULL,
               a.end_reason || CASE WHEN a.joint_handover_visit THEN ', joint handover visit' ELSE '' END,
               NULL, false
        FROM allocations a WHERE a.organisation_id = organisation AND a.family_id = family AND a.ended_on IS NOT NULL
        UNION ALL
        SELECT 'handover', h.written_at, h.id, h.written_by, NULL,
               'handover note' || CASE WHEN h.version > 1 THEN ', version ' || h.version ELSE '' END
                   || CASE WHEN h.joint_visit_contact_id IS NOT NULL THEN ', after a joint visit' ELSE '' END,
               h.note, false
        FROM handover_notes h WHERE h.organisation_id = organisation AND h.family_id = family
        UNION ALL
        SELECT 'conferenceStage', e.on_date::timestamptz, e.id, e.recorded_by, NULL, e.stage, e.note, false
        FROM conference_stage_events e WHERE e.organisation_id = organisation AND e.family_id = family
        UNION ALL
        SELECT 'plan', p.created_at, p.id, p.created_by, NULL, 'version ' || p.version, p.contingency, false
        FROM family_plans p WHERE p.organisation_id = organisation AND p.family_id = family
        UNION ALL
        SELECT 'planItemUpdate', u.created_at, u.id, u.author_id, u.person_id,
               coalesce(u.status, 'update') || CASE WHEN u.person_id IS NOT NULL THEN ', from the family''s page' ELSE '' END,
               left(u.text, 280), false
        FROM plan_item_updates u WHERE u.organisation_id = organisation AND u.family_id = family
        UNION ALL
        SELECT 'familyMessage', m.created_at, m.id, NULL, m.person_id, 'message from the family''s page', left(m.text, 280), false
        FROM family_messages m WHERE m.organisation_id = organisation AND m.family_id = family
    ),
    page AS (
        SELECT kind, at, id, worker_id, person_id, summary, detail, restricted,
               to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at_key
        FROM entries
        WHERE after_key IS NULL OR (at, id) < (after_key::timestamptz, after_id)
        ORDER BY at DESC, id DESC
        LIMIT page_size + 1
    ),
    read AS (
        INSERT INTO audit_events (organisation_id, worker_id, family_id, action, entity, break_glass)
        SELECT organisation, worker, family, 'read', 'timeline',
               CASE WHEN EXISTS (SELECT 1 FROM (SELECT restricted FROM page ORDER BY at DESC, id DESC LIMIT page_size) shown
                                 WHERE shown.restricted)
                    THEN glass_if_restricted ELSE glass_otherwise END
    )
    SELECT kind, at, id, worker_id, person_id, summary, detail, at_key FROM page ORDER BY at DESC, id DESC;
END
$$;

-- Whether a person of the wall's organisation may still use the family page, for the server's reads behind the wall.
-- kith_family_member_active (0007) names an organisation, so it is left to the lookups made before one is known.
CREATE FUNCTION kith_member_active(person uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM people p JOIN families f ON f.organisation_id = p.organisation_id AND f.id = p.family_id
        WHERE p.organisation_id = kith_wall() AND p.id = person
          AND (p.left_network_on IS NULL OR p.left_network_on > current_date) AND f.status = 'open')
$$;

-- An opened invitation lasts 180 days from its opening and a page session 12 hours from its start, whatever a row
-- says it was given: a lost phone or a forwarded link does not keep the door open for ever.
CREATE OR REPLACE FUNCTION kith_family_invitation(link_hash bytea)
RETURNS TABLE (organisation_id uuid, invitation_id uuid, family_id uuid, person_id uuid, code_hash bytea, state text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT i.organisation_id, i.id, i.family_id, i.person_id, i.code_hash,
           CASE WHEN i.revoked_at IS NOT NULL THEN 'revoked'
                WHEN NOT kith_family_member_active(i.organisation_id, i.person_id) THEN 'ended'
                WHEN i.opened_at IS NULL AND i.expires_at <= now() THEN 'expired'
                WHEN i.opened_at <= now() - interval '180 days' THEN 'expired'
                ELSE 'open' END
    FROM family_invitations i WHERE i.link_hash = kith_family_invitation.link_hash
$$;

CREATE OR REPLACE FUNCTION kith_family_session(token_hash bytea)
RETURNS TABLE (organisation_id uuid, session_id uuid, invitation_id uuid, family_id uuid, person_id uuid, valid boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT s.organisation_id, s.id, s.invitation_id, s.family_id, s.person_id,
           s.revoked_at IS NULL AND s.expires_at > now() AND s.created_at > now() - interval '12 hours'
               AND i.revoked_at IS NULL AND (i.opened_at IS NULL OR i.opened_at > now() - interval '180 days')
               AND kith_family_member_active(s.organisation_id, s.person_id)
    FROM family_sessions s
    JOIN family_invitations i ON i.organisation_id = s.organisation_id AND i.id = s.invitation_id
    WHERE s.token_hash = kith_family_session.token_hash
$$;

-- Nothing old comes back: when a person rejoins the network, or a closed family is reopened, the links and page
-- sessions they had end for good (a worker invites them again). Said here so that no path can forget it.
CREATE FUNCTION end_family_page_access() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'people' THEN
        IF OLD.left_network_on <= current_date AND (NEW.left_network_on IS NULL OR NEW.left_network_on > current_date) THEN
            UPDATE family_invitations SET revoked_at = now()
            WHERE organisation_id = NEW.organisation_id AND person_id = NEW.id AND revoked_at IS NULL;
            UPDATE family_sessions SET revoked_at = now()
            WHERE organisation_id = NEW.organisation_id AND person_id = NEW.id AND revoked_at IS NULL;
        END IF;
    ELSIF OLD.status = 'closed' AND NEW.status = 'open' THEN
        UPDATE family_invitations SET revoked_at = now()
        WHERE organisation_id = NEW.organisation_id AND family_id = NEW.id AND revoked_at IS NULL;
        UPDATE family_sessions SET revoked_at = now()
        WHERE organisation_id = NEW.organisation_id AND family_id = NEW.id AND revoked_at IS NULL;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER people_end_family_page_access AFTER UPDATE OF left_network_on ON people
    FOR EACH ROW EXECUTE FUNCTION end_family_page_access();
CREATE TRIGGER families_end_family_page_access AFTER UPDATE OF status ON families
    FOR EACH ROW EXECUTE FUNCTION end_family_page_access();

-- The change-log pruner keeps its own floor: whatever age it is asked for, it never removes a change younger than a
-- pull cursor's lifetime (PullCursor.retention, 180 days), which a device may still need.
CREATE OR REPLACE FUNCTION kith_prune_change_log(age_seconds double precision, batch integer) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    WITH bound AS (
        SELECT least(
            pg_snapshot_xmin(pg_current_snapshot()),
            (SELECT min(xid) FROM sync_changes
             WHERE changed_at >= now() - make_interval(secs => greatest(age_seconds, 180 * 86400)))) AS below
    ), oldest AS (
        SELECT organisation_id, xid, seq FROM sync_changes
        WHERE xid < (SELECT below FROM bound) ORDER BY xid, seq LIMIT greatest(batch, 0)
    ), gone AS (
        DELETE FROM sync_changes c USING oldest o
        WHERE c.organisation_id = o.organisation_id AND c.xid = o.xid AND c.seq = o.seq
        RETURNING c.xid, c.seq
    ), last AS (
        SELECT xid, seq FROM gone ORDER BY xid DESC, seq DESC LIMIT 1
    ), marked AS (
        INSERT INTO sync_changes_pruned (last_xid, last_seq) SELECT xid, seq FROM last
        ON CONFLICT (only_row) DO UPDATE SET last_xid = excluded.last_xid, last_seq = excluded.last_seq, pruned_at = now()
        WHERE (excluded.last_xid, excluded.last_seq) > (sync_changes_pruned.last_xid, sync_changes_pruned.last_seq)
    )
    SELECT count(*)::integer FROM gone
$$;

-- Ownership of the re-made lookup, and who may run what. Every function is executable by PUBLIC unless revoked:
-- the ones that name an organisation, or act across organisations outside the server's housekeeping, are the
-- operator's alone.
GRANT CREATE ON SCHEMA public TO kith_definer;
ALTER FUNCTION kith_session(bytea) OWNER TO kith_definer;
REVOKE CREATE ON SCHEMA public FROM kith_definer;
REVOKE EXECUTE ON FUNCTION kith_session(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kith_session(bytea) TO kith_app;
REVOKE EXECUTE ON FUNCTION kith_family_member_active(uuid, uuid), kith_start_new_sync_generation() FROM kith_app;
REVOKE EXECUTE ON FUNCTION kith_wall(), kith_relationships(uuid, uuid[]),
    kith_request(bytea, boolean, bigint, bigint, uuid[]), kith_acting_worker(bytea, boolean, uuid),
    kith_write_notes(uuid, uuid, uuid[], uuid[], uuid[], text[], text[], boolean[], float8[], boolean[], boolean[], text[],
                     text[], text[], text[], text[], text[], boolean[]),
    kith_read_timeline(uuid, uuid, boolean, text, uuid, integer, boolean, boolean), kith_member_active(uuid),
    end_family_page_access() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kith_wall(), kith_relationships(uuid, uuid[]),
    kith_request(bytea, boolean, bigint, bigint, uuid[]), kith_acting_worker(bytea, boolean, uuid),
    kith_write_notes(uuid, uuid, uuid[], uuid[], uuid[], text[], text[], boolean[], float8[], boolean[], boolean[], text[],
                     text[], text[], text[], text[], text[], boolean[]),
    kith_read_timeline(uuid, uuid, boolean, text, uuid, integer, boolean, boolean), kith_member_active(uuid),
    end_family_page_access() TO kith_app;

-- The worker session that registered a device: signing that session out (the terminal's `kith logout`) revokes the
-- device too, since a device's token reaches only its sync.
ALTER TABLE sessions ADD COLUMN registered_by uuid;

-- Sign-in that keeps offices working. A right password no longer counts against its address (the reservation made
-- for it is taken back), and an address that signed in to an account in the last 30 days is known to it: the
-- account's lock, which anyone can trip with five wrong guesses, does not refuse that address, though its own wrong
-- guesses still stop at the account's limit. Keys are SHA-256, as for failures: no email or address is kept.
CREATE TABLE known_sign_ins (
    key_hash     bytea PRIMARY KEY,
    signed_in_at timestamptz NOT NULL
);
GRANT SELECT, INSERT, UPDATE, DELETE ON known_sign_ins TO kith_definer;

DROP FUNCTION kith_begin_sign_in(text, bytea, bytea, integer, integer, integer);
DROP FUNCTION kith_sign_in_succeeded(bytea);
CREATE FUNCTION kith_begin_sign_in(
    email text, account_key bytea, address_key bytea, pair_key bytea, account_limit integer, address_limit integer,
    window_seconds integer)
RETURNS TABLE (retry_after integer, organisation_id uuid, worker_id uuid, password_hash text, reserved_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    since timestamptz := clock_timestamp() - make_interval(secs => window_seconds);
    attempt_at timestamptz := clock_timestamp();
    account_failures integer;
    account_oldest timestamptz;
    pair_failures integer;
    pair_oldest timestamptz;
    address_failures integer;
    address_oldest timestamptz;
    address_newest timestamptz;
    known boolean;
BEGIN
    -- Account first, then address: every attempt takes the two locks in the same order.
    PERFORM pg_advisory_xact_lock(hashtextextended('kith sign-in ' || encode(account_key, 'hex'), 0));
    PERFORM pg_advisory_xact_lock(hashtextextended('kith sign-in ' || encode(address_key, 'hex'), 0));
    SELECT count(*), min(f.failed_at) INTO account_failures, account_oldest
    FROM login_failures f WHERE f.key_hash = account_key AND f.failed_at > since;
    SELECT count(*), min(f.failed_at) INTO pair_failures, pair_oldest
    FROM login_failures f WHERE f.key_hash = pair_key AND f.failed_at > since;
    SELECT count(*), min(f.failed_at), max(f.failed_at) INTO address_failures, address_oldest, address_newest
    FROM login_failures f WHERE f.key_hash = address_key AND f.failed_at > since;
    known := EXISTS (SELECT 1 FROM known_sign_ins k WHERE k.key_hash = pair_key AND k.signed_in_at > now() - interval '30 days');

    IF pair_failures >= account_limit THEN
        RETURN QUERY SELECT greatest(1, ceil(extract(epoch FROM pair_oldest - since))::integer), NULL::uuid, NULL::uuid,
                            NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    IF account_failures >= account_limit AND NOT known THEN
        RETURN QUERY SELECT greatest(1, ceil(extract(epoch FROM account_oldest - since))::integer), NULL::uuid, NULL::uuid,
                            NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    IF address_failures >= address_limit AND NOT known THEN
        IF account_failures > 0 THEN
            RETURN QUERY SELECT greatest(1, ceil(extract(epoch FROM address_oldest - since))::integer), NULL::uuid,
                                NULL::uuid, NULL::text, NULL::timestamptz;
            RETURN;
        ELSIF address_newest > clock_timestamp() - interval '1 second' THEN
            RETURN QUERY SELECT 1, NULL::uuid, NULL::uuid, NULL::text, NULL::timestamptz;
            RETURN;
        END IF;
    END IF;

    DELETE FROM login_failures f WHERE f.key_hash IN (account_key, address_key, pair_key) AND f.failed_at <= since;
    INSERT INTO login_failures (key_hash, failed_at) VALUES (account_key, attempt_at), (address_key, attempt_at), (pair_key, attempt_at);
    RETURN QUERY
        SELECT 0, w.organisation_id, w.id, w.password_hash, attempt_at FROM workers w
        WHERE lower(w.email) = lower(kith_begin_sign_in.email) AND (w.left_on IS NULL OR w.left_on > current_date)
        UNION ALL
        SELECT 0, NULL, NULL, NULL, attempt_at
        WHERE NOT EXISTS (SELECT 1 FROM workers w WHERE lower(w.email) = lower(kith_begin_sign_in.email)
                            AND (w.left_on IS NULL OR w.left_on > current_date));
END
$$;

-- The right password: the account's and this address's failures against it are forgiven, the address's reservation
-- for this attempt is taken back (its other failures stand), and the address is known to the account for 30 days.
CREATE FUNCTION kith_sign_in_succeeded(account_key bytea, address_key bytea, pair_key bytea, reserved_at timestamptz)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    DELETE FROM login_failures WHERE key_hash IN (account_key, pair_key);
    DELETE FROM login_failures WHERE ctid = (SELECT ctid FROM login_failures
                                             WHERE key_hash = address_key AND failed_at = reserved_at LIMIT 1);
    INSERT INTO known_sign_ins (key_hash, signed_in_at) VALUES (pair_key, now())
    ON CONFLICT (key_hash) DO UPDATE SET signed_in_at = excluded.signed_in_at;
$$;

CREATE OR REPLACE FUNCTION kith_forget_login_failures(window_seconds integer) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    DELETE FROM known_sign_ins WHERE signed_in_at <= now() - interval '30 days';
    WITH gone AS (
        DELETE FROM login_failures WHERE failed_at <= clock_timestamp() - make_interval(secs => window_seconds) RETURNING 1
    )
    SELECT count(*)::integer FROM gone
$$;

GRANT CREATE ON SCHEMA public TO kith_definer;
ALTER FUNCTION kith_begin_sign_in(text, bytea, bytea, bytea, integer, integer, integer) OWNER TO kith_definer;
ALTER FUNCTION kith_sign_in_succeeded(bytea, bytea, bytea, timestamptz) OWNER TO kith_definer;
REVOKE CREATE ON SCHEMA public FROM kith_definer;
REVOKE EXECUTE ON FUNCTION kith_begin_sign_in(text, bytea, bytea, bytea, integer, integer, integer),
    kith_sign_in_succeeded(bytea, bytea, bytea, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kith_begin_sign_in(text, bytea, bytea, bytea, integer, integer, integer),
    kith_sign_in_succeeded(bytea, bytea, bytea, timestamptz) TO kith_app;

-- Lists' cursors are signed (ListCursor), as pull cursors are, so that a hand-made or altered `?after=` is refused
-- and a cursor names only what its caller was shown. One key for every instance of the server, made here at random
-- (gen_random_uuid draws from the operating system's strong random source) and read by the server, never by a client.
CREATE TABLE server_keys (
    name text PRIMARY KEY,
    key  bytea NOT NULL
);
INSERT INTO server_keys (name, key)
VALUES ('list-cursors', decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
GRANT SELECT ON server_keys TO kith_definer;
CREATE FUNCTION kith_list_cursor_key() RETURNS bytea
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT key FROM server_keys WHERE name = 'list-cursors'
$$;
GRANT CREATE ON SCHEMA public TO kith_definer;
ALTER FUNCTION kith_list_cursor_key() OWNER TO kith_definer;
REVOKE CREATE ON SCHEMA public FROM kith_definer;
REVOKE EXECUTE ON FUNCTION kith_list_cursor_key() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kith_list_cursor_key() TO kith_app;

-- A supervision session belongs to the team it was recorded in: a supervisor of the worker's other team does not read
-- it. Sessions recorded before took the team their supervisor and worker shared (the first, if several; none if they
-- share none now, and then only the worker and the supervisor who wrote it read it).
ALTER TABLE supervision_sessions ADD COLUMN team_id uuid;
UPDATE supervision_sessions s SET team_id = (
    SELECT min(a.team_id::text)::uuid FROM team_members a JOIN team_members b
        ON b.organisation_id = a.organisation_id AND b.team_id = a.team_id AND b.worker_id = s.worker_id
    WHERE a.organisation_id = s.organisation_id AND a.worker_id = s.supervisor_id);
ALTER TABLE supervision_sessions ADD FOREIGN KEY (organisation_id, team_id) REFERENCES teams (organisation_id, id);

-- Every grant of case access is seen by the people it concerns: a role that reads case content given to a worker of a
-- team is a review item for the team's supervisors (team_id), naming the worker (payload workerId), the roles and who
-- granted them (worker_id).
ALTER TABLE review_items DROP CONSTRAINT review_items_kind_check;
ALTER TABLE review_items ADD CONSTRAINT review_items_kind_check
    CHECK (kind IN ('rejected', 'conflict', 'late', 'proposal', 'quarantined', 'familyWords', 'handover', 'accessGranted'));

-- An administrator's one-time link for a worker to set their own password (the administrator never learns it):
-- valid for 24 hours, once, and only while it is the worker's newest. Only the link's SHA-256 is kept.
CREATE TABLE password_resets (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    worker_id       uuid NOT NULL,
    link_hash       bytea NOT NULL UNIQUE,
    created_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, worker_id) REFERENCES workers (organisation_id, id),
    FOREIGN KEY (organisation_id, created_by) REFERENCES workers (organisation_id, id)
);
CREATE INDEX password_resets_worker ON password_resets (organisation_id, worker_id, created_at);
ALTER TABLE password_resets ENABLE ROW LEVEL SECURITY;
ALTER TABLE password_resets FORCE ROW LEVEL SECURITY;
CREATE POLICY organisation ON password_resets TO kith_app
    USING (organisation_id = kith_organisation()) WITH CHECK (organisation_id = kith_organisation());
GRANT SELECT, INSERT, UPDATE ON password_resets TO kith_app;
GRANT SELECT ON password_resets TO kith_definer;
CREATE POLICY definer_reads ON password_resets FOR SELECT TO kith_definer USING (true);

-- The reset behind a link, before its organisation is known, and what state it is in.
CREATE FUNCTION kith_password_reset(link_hash bytea)
RETURNS TABLE (organisation_id uuid, reset_id uuid, worker_id uuid, state text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT r.organisation_id, r.id, r.worker_id,
           CASE WHEN r.used_at IS NOT NULL THEN 'used'
                WHEN r.expires_at <= now() THEN 'expired'
                WHEN w.left_on <= current_date THEN 'ended'
                WHEN EXISTS (SELECT 1 FROM password_resets n WHERE n.organisation_id = r.organisation_id
                               AND n.worker_id = r.worker_id AND n.created_at > r.created_at) THEN 'replaced'
                ELSE 'open' END
    FROM password_resets r JOIN workers w ON w.organisation_id = r.organisation_id AND w.id = r.worker_id
    WHERE r.link_hash = kith_password_reset.link_hash
$$;
GRANT CREATE ON SCHEMA public TO kith_definer;
ALTER FUNCTION kith_password_reset(bytea) OWNER TO kith_definer;
REVOKE CREATE ON SCHEMA public FROM kith_definer;
REVOKE EXECUTE ON FUNCTION kith_password_reset(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kith_password_reset(bytea) TO kith_app;
