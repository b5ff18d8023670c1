-- Kith foundation schema.
--
-- Every table carries organisation_id, and every foreign key includes it, so no reference can cross from one
-- organisation into another and the data can later be distributed by organisation.
-- Case records that devices pull write a row to sync_changes from a trigger, so no write path can forget it.

CREATE TABLE organisations (
    id              uuid PRIMARY KEY,
    organisation_id uuid GENERATED ALWAYS AS (id) STORED,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 500),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE teams (
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    id              uuid NOT NULL,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 500),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id)
);

CREATE TABLE workers (
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    id              uuid NOT NULL,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 500),
    email           text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
    password_hash   text NOT NULL,
    roles           text[] NOT NULL CHECK (cardinality(roles) > 0
                        AND roles <@ ARRAY['practitioner', 'coordinator', 'supervisor', 'admin']),
    started_on      date NOT NULL DEFAULT current_date,
    left_on         date,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id)
);
-- Login is by email alone, so an email is unique across organisations.
CREATE UNIQUE INDEX workers_email_key ON workers (lower(email));

CREATE TABLE team_members (
    organisation_id uuid NOT NULL,
    team_id         uuid NOT NULL,
    worker_id       uuid NOT NULL,
    PRIMARY KEY (organisation_id, team_id, worker_id),
    FOREIGN KEY (organisation_id, team_id) REFERENCES teams (organisation_id, id),
    FOREIGN KEY (organisation_id, worker_id) REFERENCES workers (organisation_id, id)
);
CREATE INDEX team_members_worker ON team_members (organisation_id, worker_id);

CREATE TABLE devices (
    organisation_id  uuid NOT NULL,
    id               uuid NOT NULL,
    worker_id        uuid NOT NULL,
    name             text NOT NULL,
    platform         text NOT NULL,
    client_version   text NOT NULL,
    registered_at    timestamptz NOT NULL DEFAULT now(),
    last_synced_at   timestamptz,
    revoked_at       timestamptz,
    last_applied_seq bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, worker_id) REFERENCES workers (organisation_id, id)
);

-- Bearer tokens: only the SHA-256 of the token is stored. A device token carries its device.
CREATE TABLE sessions (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    worker_id       uuid NOT NULL,
    device_id       uuid,
    token_hash      bytea NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, worker_id) REFERENCES workers (organisation_id, id),
    FOREIGN KEY (organisation_id, device_id) REFERENCES devices (organisation_id, id)
);
CREATE INDEX sessions_worker ON sessions (organisation_id, worker_id) WHERE revoked_at IS NULL;

CREATE TABLE families (
    organisation_id        uuid NOT NULL,
    id                     uuid NOT NULL,
    team_id                uuid NOT NULL,
    display_name           text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 500),
    reference              text CHECK (length(reference) <= 100),
    reason_for_involvement text,
    status                 text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    opened_on              date NOT NULL DEFAULT current_date,
    closed_on              date,
    created_by             uuid NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, team_id) REFERENCES teams (organisation_id, id),
    FOREIGN KEY (organisation_id, created_by) REFERENCES workers (organisation_id, id)
);
CREATE INDEX families_team ON families (organisation_id, team_id, status);
CREATE UNIQUE INDEX families_reference ON families (organisation_id, lower(reference)) WHERE reference IS NOT NULL;

-- A person in one family's network. The relationship to the child is in the family's own words.
-- field_versions holds a version per editable field, so edits of different fields never conflict.
CREATE TABLE people (
    organisation_id       uuid NOT NULL,
    id                    uuid NOT NULL,
    family_id             uuid NOT NULL,
    name                  text NOT NULL CHECK (length(name) BETWEEN 1 AND 500),
    relationship_to_child text,
    is_child_in_focus     boolean NOT NULL DEFAULT false,
    date_of_birth         date,
    phone                 text,
    email                 text,
    address               text,
    language              text,
    interpreter_needed    boolean NOT NULL DEFAULT false,
    field_versions        jsonb NOT NULL DEFAULT '{}',
    created_by            uuid NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, created_by) REFERENCES workers (organisation_id, id)
);
CREATE INDEX people_family ON people (organisation_id, family_id);

CREATE TABLE allocations (
    organisation_id      uuid NOT NULL,
    id                   uuid NOT NULL,
    family_id            uuid NOT NULL,
    worker_id            uuid NOT NULL,
    role                 text NOT NULL CHECK (role IN ('allocatedWorker', 'coordinator', 'familySupport')),
    started_on           date NOT NULL,
    ended_on             date CHECK (ended_on >= started_on),
    end_reason           text,
    handover_note        text,
    joint_handover_visit boolean,
    created_by           uuid NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    ended_by             uuid,
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, worker_id) REFERENCES workers (organisation_id, id)
);
CREATE INDEX allocations_family ON allocations (organisation_id, family_id, started_on);
CREATE INDEX allocations_worker_current ON allocations (organisation_id, worker_id) WHERE ended_on IS NULL;
-- A worker holds a role with a family once at a time; a new spell starts after the last one ended.
CREATE UNIQUE INDEX allocations_one_open_spell ON allocations (organisation_id, family_id, worker_id, role) WHERE ended_on IS NULL;

-- The one definition of a current allocation, used by access rules and caseloads alike.
CREATE VIEW current_allocations AS
    SELECT * FROM allocations
    WHERE started_on <= current_date AND (ended_on IS NULL OR ended_on > current_date);

CREATE TABLE contacts (
    organisation_id          uuid NOT NULL,
    id                       uuid NOT NULL,
    family_id                uuid NOT NULL,
    occurred_at              timestamptz NOT NULL,
    duration_minutes         integer CHECK (duration_minutes BETWEEN 0 AND 1440),
    kind                     text NOT NULL CHECK (kind IN ('homeVisit', 'phone', 'video', 'school', 'office', 'conference', 'other')),
    location                 text,
    child_seen               boolean,
    child_seen_alone         boolean,
    recorded_by              uuid NOT NULL,
    recorded_at              timestamptz NOT NULL DEFAULT now(),
    device_recorded_at       timestamptz,
    clock_suspect            boolean NOT NULL DEFAULT false,
    source_device_id         uuid,
    late_after_reallocation  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, recorded_by) REFERENCES workers (organisation_id, id),
    FOREIGN KEY (organisation_id, source_device_id) REFERENCES devices (organisation_id, id)
);
CREATE INDEX contacts_family ON contacts (organisation_id, family_id, occurred_at);

CREATE TABLE contact_people (
    organisation_id uuid NOT NULL,
    contact_id      uuid NOT NULL,
    person_id       uuid NOT NULL,
    PRIMARY KEY (organisation_id, contact_id, person_id),
    FOREIGN KEY (organisation_id, contact_id) REFERENCES contacts (organisation_id, id),
    FOREIGN KEY (organisation_id, person_id) REFERENCES people (organisation_id, id)
);

CREATE TABLE contact_workers (
    organisation_id uuid NOT NULL,
    contact_id      uuid NOT NULL,
    worker_id       uuid NOT NULL,
    PRIMARY KEY (organisation_id, contact_id, worker_id),
    FOREIGN KEY (organisation_id, contact_id) REFERENCES contacts (organisation_id, id),
    FOREIGN KEY (organisation_id, worker_id) REFERENCES workers (organisation_id, id)
);
CREATE INDEX contact_workers_worker ON contact_workers (organisation_id, worker_id);

CREATE TABLE notes (
    organisation_id         uuid NOT NULL,
    id                      uuid NOT NULL,
    family_id               uuid NOT NULL,
    contact_id              uuid,
    audience                text NOT NULL CHECK (audience IN ('professional', 'family', 'restricted')),
    written_with_family     boolean NOT NULL DEFAULT false,
    author_id               uuid NOT NULL,
    created_at              timestamptz NOT NULL DEFAULT now(),
    device_recorded_at      timestamptz,
    source_device_id        uuid,
    late_after_reallocation boolean NOT NULL DEFAULT false,
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, contact_id) REFERENCES contacts (organisation_id, id),
    FOREIGN KEY (organisation_id, author_id) REFERENCES workers (organisation_id, id),
    FOREIGN KEY (organisation_id, source_device_id) REFERENCES devices (organisation_id, id)
);
CREATE INDEX notes_family ON notes (organisation_id, family_id, created_at);

-- Append-only: an amendment is a new row that supersedes an earlier one, with a reason.
-- Two rows superseding the same revision are concurrent amendments; both are kept.
CREATE TABLE note_revisions (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    note_id         uuid NOT NULL,
    family_id       uuid NOT NULL,
    number          integer NOT NULL CHECK (number >= 1),
    supersedes      uuid,
    body            text NOT NULL CHECK (length(body) <= 65536),
    observed        text,
    analysis        text,
    decision        text,
    family_words    text,
    next_steps      text,
    reason          text,
    author_id       uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    UNIQUE (organisation_id, note_id, number),
    CHECK ((number = 1) = (supersedes IS NULL)),
    CHECK (supersedes IS NULL OR reason IS NOT NULL),
    FOREIGN KEY (organisation_id, note_id) REFERENCES notes (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, supersedes) REFERENCES note_revisions (organisation_id, id),
    FOREIGN KEY (organisation_id, author_id) REFERENCES workers (organisation_id, id)
);

CREATE INDEX note_revisions_family ON note_revisions (organisation_id, family_id);

CREATE TABLE conferences (
    organisation_id         uuid NOT NULL,
    id                      uuid NOT NULL,
    family_id               uuid NOT NULL,
    referrer_id             uuid NOT NULL,
    referral_reason         text NOT NULL,
    family_agreed           boolean NOT NULL,
    bottom_lines            text[] NOT NULL DEFAULT '{}',
    coordinator_id          uuid,
    stage                   text NOT NULL DEFAULT 'referred'
                                CHECK (stage IN ('referred', 'preparing', 'conferenceHeld', 'planAgreed', 'reviewing', 'closed')),
    stage_since             date NOT NULL DEFAULT current_date,
    private_time_started_at timestamptz,
    private_time_ended_at   timestamptz CHECK (private_time_ended_at >= private_time_started_at),
    created_by              uuid NOT NULL,
    created_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, referrer_id) REFERENCES workers (organisation_id, id),
    FOREIGN KEY (organisation_id, coordinator_id) REFERENCES workers (organisation_id, id)
);
CREATE INDEX conferences_family ON conferences (organisation_id, family_id);

CREATE TABLE conference_stage_events (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    conference_id   uuid NOT NULL,
    family_id       uuid NOT NULL,
    stage           text NOT NULL,
    on_date         date NOT NULL,
    note            text,
    recorded_by     uuid NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, conference_id) REFERENCES conferences (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, recorded_by) REFERENCES workers (organisation_id, id)
);
CREATE INDEX conference_stage_events_conference ON conference_stage_events (organisation_id, conference_id, recorded_at);

CREATE TABLE conference_participants (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    conference_id   uuid NOT NULL,
    family_id       uuid NOT NULL,
    person_id       uuid,
    worker_id       uuid,
    invited         boolean NOT NULL DEFAULT false,
    attended        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (organisation_id, id),
    CHECK ((person_id IS NULL) <> (worker_id IS NULL)),
    UNIQUE NULLS NOT DISTINCT (organisation_id, conference_id, person_id, worker_id),
    FOREIGN KEY (organisation_id, conference_id) REFERENCES conferences (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, person_id) REFERENCES people (organisation_id, id),
    FOREIGN KEY (organisation_id, worker_id) REFERENCES workers (organisation_id, id)
);

CREATE TABLE family_plans (
    organisation_id    uuid NOT NULL,
    id                 uuid NOT NULL,
    conference_id      uuid NOT NULL,
    family_id          uuid NOT NULL,
    version            integer NOT NULL CHECK (version >= 1),
    contingency        text,
    review_on          date,
    agreed_by_referrer boolean NOT NULL,
    referrer_reasoning text,
    created_by         uuid NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    UNIQUE (organisation_id, conference_id, version),
    FOREIGN KEY (organisation_id, conference_id) REFERENCES conferences (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, created_by) REFERENCES workers (organisation_id, id)
);

-- Who in the network does what: exactly one of a person or a worker.
CREATE TABLE plan_items (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    plan_id         uuid NOT NULL,
    family_id       uuid NOT NULL,
    position        integer NOT NULL,
    person_id       uuid,
    worker_id       uuid,
    what            text NOT NULL,
    by_when         date,
    PRIMARY KEY (organisation_id, id),
    CHECK ((person_id IS NULL) <> (worker_id IS NULL)),
    FOREIGN KEY (organisation_id, plan_id) REFERENCES family_plans (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, person_id) REFERENCES people (organisation_id, id),
    FOREIGN KEY (organisation_id, worker_id) REFERENCES workers (organisation_id, id)
);
CREATE INDEX plan_items_plan ON plan_items (organisation_id, plan_id, position);

CREATE TABLE plan_item_updates (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    plan_item_id    uuid NOT NULL,
    family_id       uuid NOT NULL,
    text            text NOT NULL,
    status          text CHECK (status IN ('open', 'done', 'dropped')),
    author_id       uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, plan_item_id) REFERENCES plan_items (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, author_id) REFERENCES workers (organisation_id, id)
);
CREATE INDEX plan_item_updates_item ON plan_item_updates (organisation_id, plan_item_id, created_at);

CREATE TABLE supervision_sessions (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    supervisor_id   uuid NOT NULL,
    worker_id       uuid NOT NULL,
    held_on         date NOT NULL,
    notes           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, supervisor_id) REFERENCES workers (organisation_id, id),
    FOREIGN KEY (organisation_id, worker_id) REFERENCES workers (organisation_id, id)
);
CREATE INDEX supervision_sessions_worker ON supervision_sessions (organisation_id, worker_id, held_on);

CREATE TABLE supervision_session_families (
    organisation_id uuid NOT NULL,
    session_id      uuid NOT NULL,
    family_id       uuid NOT NULL,
    PRIMARY KEY (organisation_id, session_id, family_id),
    FOREIGN KEY (organisation_id, session_id) REFERENCES supervision_sessions (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id)
);

-- Signal thresholds are team settings: prompts for a supervision conversation, never targets.
CREATE TABLE team_signal_settings (
    organisation_id          uuid NOT NULL,
    team_id                  uuid NOT NULL,
    no_contact_days          integer NOT NULL DEFAULT 28,
    child_not_seen_days      integer NOT NULL DEFAULT 42,
    plan_review_overdue_days integer NOT NULL DEFAULT 0,
    worker_changes_365       integer NOT NULL DEFAULT 3,
    updated_by               uuid,
    updated_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, team_id),
    FOREIGN KEY (organisation_id, team_id) REFERENCES teams (organisation_id, id)
);

CREATE TABLE break_glass_grants (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    family_id       uuid NOT NULL,
    worker_id       uuid NOT NULL,
    reason          text NOT NULL CHECK (length(reason) >= 10),
    opened_at       timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, worker_id) REFERENCES workers (organisation_id, id)
);
CREATE INDEX break_glass_grants_worker ON break_glass_grants (organisation_id, worker_id, family_id, expires_at);

-- Who read or wrote what of a family's record, when, and why (break-glass reason).
CREATE TABLE audit_events (
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    id              bigint GENERATED ALWAYS AS IDENTITY,
    at              timestamptz NOT NULL DEFAULT now(),
    worker_id       uuid NOT NULL,
    family_id       uuid,
    action          text NOT NULL CHECK (action IN ('read', 'write', 'export', 'breakGlass')),
    entity          text,
    record_id       uuid,
    reason          text,
    break_glass     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, worker_id) REFERENCES workers (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id)
);
CREATE INDEX audit_events_family ON audit_events (organisation_id, family_id, id);

-- Sync work a person must decide on (produced by sync; the table exists so the schema serves it from day one).
CREATE TABLE review_items (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('rejected', 'conflict', 'late', 'proposal', 'quarantined')),
    family_id       uuid,
    team_id         uuid,
    worker_id       uuid,
    device_id       uuid,
    mutation_id     uuid,
    summary         text NOT NULL,
    reason          text,
    payload         jsonb,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolution      jsonb,
    resolved_by     uuid,
    resolved_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, team_id) REFERENCES teams (organisation_id, id),
    FOREIGN KEY (organisation_id, worker_id) REFERENCES workers (organisation_id, id),
    FOREIGN KEY (organisation_id, device_id) REFERENCES devices (organisation_id, id)
);
CREATE INDEX review_items_open ON review_items (organisation_id, team_id, worker_id) WHERE status = 'open';

-- The change feed devices pull. Stamped with the writing transaction's id (xid8): a reader that stops below
-- pg_snapshot_xmin(pg_current_snapshot()) never skips a change whatever order transactions commit in.
CREATE TABLE sync_changes (
    organisation_id uuid NOT NULL,
    xid             xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    family_id       uuid,
    entity          text NOT NULL,
    entity_id       uuid NOT NULL,
    op              text NOT NULL CHECK (op IN ('upsert', 'delete')),
    changed_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, xid, seq)
);
CREATE INDEX sync_changes_family ON sync_changes (organisation_id, family_id, xid, seq);
CREATE INDEX sync_changes_changed_at ON sync_changes (changed_at);

-- TG_ARGV: entity name, column holding the entity id, column holding the family id.
CREATE FUNCTION record_sync_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN
        r := to_jsonb(OLD);
    ELSE
        r := to_jsonb(NEW);
    END IF;
    INSERT INTO sync_changes (organisation_id, family_id, entity, entity_id, op)
    VALUES ((r ->> 'organisation_id')::uuid,
            (r ->> TG_ARGV[2])::uuid,
            TG_ARGV[0],
            (r ->> TG_ARGV[1])::uuid,
            CASE WHEN TG_OP = 'DELETE' THEN 'delete' ELSE 'upsert' END);
    RETURN NULL;
END
$$;

CREATE TRIGGER families_sync AFTER INSERT OR UPDATE OR DELETE ON families
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('family', 'id', 'id');
CREATE TRIGGER people_sync AFTER INSERT OR UPDATE OR DELETE ON people
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('person', 'id', 'family_id');
CREATE TRIGGER allocations_sync AFTER INSERT OR UPDATE OR DELETE ON allocations
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('allocation', 'id', 'family_id');
CREATE TRIGGER contacts_sync AFTER INSERT OR UPDATE OR DELETE ON contacts
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('contact', 'id', 'family_id');
CREATE TRIGGER notes_sync AFTER INSERT OR UPDATE OR DELETE ON notes
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('note', 'id', 'family_id');
CREATE TRIGGER note_revisions_sync AFTER INSERT ON note_revisions
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('note', 'note_id', 'family_id');
CREATE TRIGGER conferences_sync AFTER INSERT OR UPDATE OR DELETE ON conferences
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('conference', 'id', 'family_id');
CREATE TRIGGER conference_stage_events_sync AFTER INSERT ON conference_stage_events
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('conference', 'conference_id', 'family_id');
CREATE TRIGGER conference_participants_sync AFTER INSERT OR UPDATE OR DELETE ON conference_participants
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('conference', 'conference_id', 'family_id');
CREATE TRIGGER family_plans_sync AFTER INSERT OR UPDATE OR DELETE ON family_plans
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('plan', 'id', 'family_id');
CREATE TRIGGER plan_items_sync AFTER INSERT OR UPDATE OR DELETE ON plan_items
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('planItem', 'id', 'family_id');
CREATE TRIGGER plan_item_updates_sync AFTER INSERT ON plan_item_updates
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('planItemUpdate', 'id', 'family_id');
CREATE TRIGGER review_items_sync AFTER INSERT OR UPDATE OR DELETE ON review_items
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('reviewItem', 'id', 'family_id');

-- The record of what happened is append-only: corrections are new rows, never edits.
CREATE FUNCTION refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER notes_append_only BEFORE UPDATE OR DELETE ON notes
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER note_revisions_append_only BEFORE UPDATE OR DELETE ON note_revisions
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER plan_item_updates_append_only BEFORE UPDATE OR DELETE ON plan_item_updates
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER conference_stage_events_append_only BEFORE UPDATE OR DELETE ON conference_stage_events
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER notes_no_truncate BEFORE TRUNCATE ON notes
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER note_revisions_no_truncate BEFORE TRUNCATE ON note_revisions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER plan_item_updates_no_truncate BEFORE TRUNCATE ON plan_item_updates
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER conference_stage_events_no_truncate BEFORE TRUNCATE ON conference_stage_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
