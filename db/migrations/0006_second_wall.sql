-- The database as a second wall behind the application's access policy.
--
-- Every server transaction runs as kith_app (SET LOCAL ROLE, via set_config) and names its organisation
-- (kith.organisation_id, transaction-local, so it works through PgBouncer in transaction mode). kith_app owns nothing,
-- so it cannot disable a trigger or a policy, and it has no UPDATE or DELETE on the append-only tables. Row-level
-- security is enabled and forced on every table with organisation_id: with no organisation named, no row is seen.
-- Work done before an organisation is known (sign-in, token lookup) and work across organisations (housekeeping, a new
-- sync generation) goes through the narrow SECURITY DEFINER functions below, owned by kith_definer, a role that owns
-- no table and may only read what those functions read.
--
-- Roles belong to the whole cluster; they are made once and reused by every database on it.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kith_app') THEN
        CREATE ROLE kith_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kith_definer') THEN
        CREATE ROLE kith_definer NOLOGIN;
    END IF;
    -- The role that runs the migrations (and connects the server) switches to kith_app in every transaction.
    IF NOT pg_has_role(current_user, 'kith_app', 'MEMBER') THEN
        EXECUTE format('GRANT kith_app TO %I', current_user);
    END IF;
    IF NOT pg_has_role(current_user, 'kith_definer', 'MEMBER') THEN
        EXECUTE format('GRANT kith_definer TO %I', current_user);
    END IF;
END
$$;

-- The one place that says which organisation a transaction works for. Unset or empty: none, so no row.
CREATE FUNCTION kith_organisation() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT nullif(current_setting('kith.organisation_id', true), '')::uuid
$$;

-- The one SQL statement of who reads a note: anyone with access to the family, but a restricted note only those the
-- access policy says see restricted notes (`FamilyAccess.seesRestricted`), and its author always.
CREATE FUNCTION kith_note_readable(audience text, author_id uuid, reader uuid, sees_restricted boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT audience <> 'restricted' OR sees_restricted OR author_id = reader
$$;

-- Administrative changes and familyless decisions go to the organisation's audit feed; team_id says which team's
-- supervisors see them there.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_check
    CHECK (action IN ('read', 'write', 'export', 'breakGlass', 'administer'));
ALTER TABLE audit_events ADD COLUMN team_id uuid;
CREATE INDEX audit_events_organisation ON audit_events (organisation_id, id) WHERE family_id IS NULL;

-- A review item carrying a restricted note goes only to those who may read restricted notes.
ALTER TABLE review_items ADD COLUMN carries_restricted boolean NOT NULL DEFAULT false;
UPDATE review_items SET carries_restricted = true WHERE payload -> 'args' ->> 'audience' = 'restricted';
-- worker_id now names the worker whose device pushed the work (its addressees are in review_item_recipients, where
-- 0003 copied them); late items and proposals had named their first addressee.
UPDATE review_items i SET worker_id = d.worker_id FROM devices d
WHERE d.organisation_id = i.organisation_id AND d.id = i.device_id AND i.kind IN ('late', 'proposal');

-- Views read with the caller's rights, so row-level security applies through them.
ALTER VIEW current_allocations SET (security_invoker = true);
ALTER VIEW handovers SET (security_invoker = true);

GRANT USAGE ON SCHEMA public TO kith_app, kith_definer;
GRANT EXECUTE ON FUNCTION kith_organisation(), kith_note_readable(text, uuid, uuid, boolean) TO kith_app, kith_definer;
GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO kith_app;
REVOKE INSERT ON schema_migrations, sync_changes_pruned, login_failures FROM kith_app;
REVOKE SELECT ON login_failures FROM kith_app;
GRANT UPDATE ON workers, devices, sessions, families, people, allocations, conferences, conference_participants,
    team_signal_settings, review_items, device_grants TO kith_app;
GRANT DELETE ON team_members TO kith_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO kith_app;

DO $$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT c.relname FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'organisation_id' AND NOT a.attisdropped
        WHERE n.nspname = 'public' AND c.relkind = 'r'
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t.relname);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t.relname);
        EXECUTE format(
            'CREATE POLICY organisation ON %I TO kith_app USING (organisation_id = kith_organisation()) '
            'WITH CHECK (organisation_id = kith_organisation())', t.relname);
    END LOOP;
END
$$;

-- What kith_definer's functions read and write, across organisations, and nothing else.
GRANT SELECT ON workers, sessions, devices, team_members, organisations TO kith_definer;
GRANT SELECT, DELETE ON sync_changes TO kith_definer;
GRANT SELECT, INSERT, UPDATE ON sync_changes_pruned TO kith_definer;
GRANT SELECT, INSERT, DELETE ON login_failures TO kith_definer;
GRANT DELETE ON sync_generations TO kith_definer;
CREATE POLICY definer_reads ON workers FOR SELECT TO kith_definer USING (true);
CREATE POLICY definer_reads ON sessions FOR SELECT TO kith_definer USING (true);
CREATE POLICY definer_reads ON devices FOR SELECT TO kith_definer USING (true);
CREATE POLICY definer_reads ON team_members FOR SELECT TO kith_definer USING (true);
CREATE POLICY definer_reads ON organisations FOR SELECT TO kith_definer USING (true);
CREATE POLICY definer_prunes ON sync_changes FOR ALL TO kith_definer USING (true);
CREATE POLICY definer_resets ON sync_generations FOR ALL TO kith_definer USING (true);

-- The principal behind a bearer token (by its SHA-256), whatever its state: the caller judges validity and revocation.
CREATE FUNCTION kith_session(token_hash bytea)
RETURNS TABLE (organisation_id uuid, session_id uuid, worker_id uuid, device_id uuid, roles text[],
               device_revoked boolean, valid boolean, team_ids uuid[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT s.organisation_id, s.id, s.worker_id, s.device_id, w.roles,
           d.revoked_at IS NOT NULL OR (d.id IS NOT NULL AND coalesce(w.left_on <= current_date, false)),
           s.revoked_at IS NULL AND s.expires_at > now() AND (w.left_on IS NULL OR w.left_on > current_date),
           ARRAY(SELECT tm.team_id FROM team_members tm
                 WHERE tm.organisation_id = s.organisation_id AND tm.worker_id = s.worker_id ORDER BY tm.team_id)
    FROM sessions s
    JOIN workers w ON w.organisation_id = s.organisation_id AND w.id = s.worker_id
    LEFT JOIN devices d ON d.organisation_id = s.organisation_id AND d.id = s.device_id
    WHERE s.token_hash = kith_session.token_hash
$$;

-- A sign-in attempt, reserved before the password is checked, so that however many arrive at once no more than
-- `account_limit` wrong passwords are ever checked for one account in `window`. The reservation is a failure until
-- kith_sign_in_succeeded clears the account's failures. An address over `address_limit` (an office behind one proxy)
-- is slowed, not shut: an account with no failures of its own is still checked, one attempt a second per address.
-- retry_after > 0: refused, nothing reserved, try again in that many seconds. Otherwise the account, if any.
CREATE FUNCTION kith_begin_sign_in(
    email text, account_key bytea, address_key bytea, account_limit integer, address_limit integer, window_seconds integer)
RETURNS TABLE (retry_after integer, organisation_id uuid, worker_id uuid, password_hash text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    since timestamptz := clock_timestamp() - make_interval(secs => window_seconds);
    account_failures integer;
    account_oldest timestamptz;
    address_failures integer;
    address_oldest timestamptz;
    address_newest timestamptz;
BEGIN
    -- Account first, then address: every attempt takes the two locks in the same order.
    PERFORM pg_advisory_xact_lock(hashtextextended('kith sign-in ' || encode(account_key, 'hex'), 0));
    PERFORM pg_advisory_xact_lock(hashtextextended('kith sign-in ' || encode(address_key, 'hex'), 0));
    SELECT count(*), min(f.failed_at) INTO account_failures, account_oldest
    FROM login_failures f WHERE f.key_hash = account_key AND f.failed_at > since;
    SELECT count(*), min(f.failed_at), max(f.failed_at) INTO address_failures, address_oldest, address_newest
    FROM login_failures f WHERE f.key_hash = address_key AND f.failed_at > since;

    IF account_failures >= account_limit THEN
        RETURN QUERY SELECT greatest(1, ceil(extract(epoch FROM account_oldest - since))::integer), NULL::uuid, NULL::uuid, NULL::text;
        RETURN;
    END IF;
    IF address_failures >= address_limit THEN
        IF account_failures > 0 THEN
            RETURN QUERY SELECT greatest(1, ceil(extract(epoch FROM address_oldest - since))::integer), NULL::uuid, NULL::uuid, NULL::text;
            RETURN;
        ELSIF address_newest > clock_timestamp() - interval '1 second' THEN
            RETURN QUERY SELECT 1, NULL::uuid, NULL::uuid, NULL::text;
            RETURN;
        END IF;
    END IF;

    DELETE FROM login_failures f WHERE f.key_hash IN (account_key, address_key) AND f.failed_at <= since;
    INSERT INTO login_failures (key_hash, failed_at) VALUES (account_key, clock_timestamp()), (address_key, clock_timestamp());
    RETURN QUERY
        SELECT 0, w.organisation_id, w.id, w.password_hash FROM workers w
        WHERE lower(w.email) = lower(kith_begin_sign_in.email) AND (w.left_on IS NULL OR w.left_on > current_date)
        UNION ALL
        SELECT 0, NULL, NULL, NULL
        WHERE NOT EXISTS (SELECT 1 FROM workers w WHERE lower(w.email) = lower(kith_begin_sign_in.email)
                            AND (w.left_on IS NULL OR w.left_on > current_date));
END
$$;

-- The right password: the account's failures (its reservation among them) are forgiven. The address keeps its count.
CREATE FUNCTION kith_sign_in_succeeded(account_key bytea) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    DELETE FROM login_failures WHERE key_hash = account_key
$$;

CREATE FUNCTION kith_forget_login_failures(window_seconds integer) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    WITH gone AS (
        DELETE FROM login_failures WHERE failed_at <= clock_timestamp() - make_interval(secs => window_seconds) RETURNING 1
    )
    SELECT count(*)::integer FROM gone
$$;

-- Deletes up to `batch` change-log rows older than `age_seconds` that every later row follows in feed order, oldest
-- first, and remembers the last one deleted: a cursor positioned before it answers 410 cursor_expired instead of
-- silently skipping. Housekeeping calls it in short transactions until a batch comes back short, so no long delete
-- holds back the feed's horizon.
CREATE INDEX sync_changes_feed ON sync_changes (xid, seq);
CREATE FUNCTION kith_prune_change_log(age_seconds double precision, batch integer) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    WITH bound AS (
        SELECT least(
            pg_snapshot_xmin(pg_current_snapshot()),
            (SELECT min(xid) FROM sync_changes WHERE changed_at >= now() - make_interval(secs => age_seconds))) AS below
    ), oldest AS (
        SELECT organisation_id, xid, seq FROM sync_changes
        WHERE xid < (SELECT below FROM bound) ORDER BY xid, seq LIMIT batch
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

-- After a restore: every organisation gets a new sync generation and cursor key when it next syncs.
CREATE FUNCTION kith_start_new_sync_generation() RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    DELETE FROM sync_generations
$$;

-- How old the oldest transaction holding an id is, cluster-wide: what holds the sync feed back (the metric
-- sync_horizon_lag_seconds). pg_stat_activity shows other sessions' transactions only to pg_read_all_stats, which
-- kith_definer is given where the migrating role may grant it (a superuser); elsewhere the figure counts only the
-- server's own sessions until an operator grants it.
CREATE FUNCTION kith_oldest_transaction_age() RETURNS double precision
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT coalesce(extract(epoch FROM now() - min(xact_start)), 0)::float8
    FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
$$;
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        GRANT pg_read_all_stats TO kith_definer;
    END IF;
END
$$;

-- An owner may hand a function to another role only when that role may create in the schema; kith_definer keeps
-- the right no longer than that.
GRANT CREATE ON SCHEMA public TO kith_definer;
ALTER FUNCTION kith_session(bytea) OWNER TO kith_definer;
ALTER FUNCTION kith_begin_sign_in(text, bytea, bytea, integer, integer, integer) OWNER TO kith_definer;
ALTER FUNCTION kith_sign_in_succeeded(bytea) OWNER TO kith_definer;
ALTER FUNCTION kith_forget_login_failures(integer) OWNER TO kith_definer;
ALTER FUNCTION kith_prune_change_log(double precision, integer) OWNER TO kith_definer;
ALTER FUNCTION kith_start_new_sync_generation() OWNER TO kith_definer;
ALTER FUNCTION kith_oldest_transaction_age() OWNER TO kith_definer;
REVOKE CREATE ON SCHEMA public FROM kith_definer;
REVOKE EXECUTE ON FUNCTION kith_session(bytea), kith_begin_sign_in(text, bytea, bytea, integer, integer, integer),
    kith_sign_in_succeeded(bytea), kith_forget_login_failures(integer), kith_prune_change_log(double precision, integer),
    kith_start_new_sync_generation(), kith_oldest_transaction_age() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kith_session(bytea), kith_begin_sign_in(text, bytea, bytea, integer, integer, integer),
    kith_sign_in_succeeded(bytea), kith_forget_login_failures(integer), kith_prune_change_log(double precision, integer),
    kith_start_new_sync_generation(), kith_oldest_transaction_age() TO kith_app;
