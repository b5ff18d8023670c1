-- Voice (issue #29): what got in the way of the people doing the work and of the family, the family's verdict on the
-- service after a meeting or a change of worker, the changes of practice a council makes, and studies of them drawn as
-- pseudonymised extracts. Every row here is a fact, appended.

-- What got in the way: a worker's own words (fell on the worker), or a family's from their page (fell on the family,
-- no worker). A friction names a family only when its teller chose to; it then belongs to that family's record.
CREATE TABLE frictions (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    fell_on         text NOT NULL CHECK (fell_on IN ('worker', 'family')),
    text            text NOT NULL CHECK (length(text) BETWEEN 1 AND 4000),
    kind            text CHECK (kind IN ('rule', 'system', 'resource', 'time', 'other')),
    cost            text CHECK (length(cost) BETWEEN 1 AND 200),
    did_it_anyway   text CHECK (did_it_anyway IN ('yes', 'no', 'partly')),
    family_id       uuid,
    -- The team it is answered by: the family's, else its teller's when it was told.
    team_id         uuid,
    filed_by        uuid,
    -- A refusal of Kith's own the worker met just before (`kith blocked --last`): its status, code and detail.
    problem         jsonb CHECK (jsonb_typeof(problem) = 'object' AND length(problem::text) <= 4000),
    recorded_at     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (organisation_id, id),
    CHECK ((fell_on = 'worker') = (filed_by IS NOT NULL)),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, team_id) REFERENCES teams (organisation_id, id),
    FOREIGN KEY (organisation_id, filed_by) REFERENCES workers (organisation_id, id)
);
CREATE INDEX frictions_team ON frictions (organisation_id, team_id, created_at);
CREATE INDEX frictions_teller ON frictions (organisation_id, filed_by, created_at);
CREATE INDEX frictions_family ON frictions (organisation_id, family_id) WHERE family_id IS NOT NULL;

CREATE TABLE friction_events (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    friction_id     uuid NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('acknowledged', 'changed', 'escalated', 'wontChange')),
    text            text CHECK (length(text) BETWEEN 1 AND 4000),
    recorded_by     uuid NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (organisation_id, id),
    -- What a supervisor did is said in their words; an acknowledgement may stand alone.
    CHECK (kind = 'acknowledged' OR text IS NOT NULL),
    FOREIGN KEY (organisation_id, friction_id) REFERENCES frictions (organisation_id, id),
    FOREIGN KEY (organisation_id, recorded_by) REFERENCES workers (organisation_id, id)
);
CREATE INDEX friction_events_friction ON friction_events (organisation_id, friction_id, recorded_at);

-- The family's verdict. A named answer keeps who gave it, about which worker and which occasion; an anonymous one keeps
-- only the team, the quarter and the kind of occasion (no family, person, worker, occasion or time).
-- Each answer is 1 (not at all) to 5 (completely), 0 for "rather not say", NULL when left unanswered.
CREATE TABLE family_feedback (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    team_id         uuid NOT NULL,
    quarter         text NOT NULL CHECK (quarter ~ '^[0-9]{4}-Q[1-4]$'),
    occasion_kind   text NOT NULL CHECK (occasion_kind IN ('conference', 'review', 'workerChange')),
    listened        smallint CHECK (listened BETWEEN 0 AND 5),
    plan_own        smallint CHECK (plan_own BETWEEN 0 AND 5),
    worker_talk     smallint CHECK (worker_talk BETWEEN 0 AND 5),
    family_id       uuid,
    person_id       uuid,
    worker_id       uuid,
    occasion_id     uuid,
    given_at        timestamptz,
    PRIMARY KEY (organisation_id, id),
    CHECK (num_nulls(family_id, person_id, occasion_id, given_at) IN (0, 4)),
    CHECK (family_id IS NOT NULL OR worker_id IS NULL),
    FOREIGN KEY (organisation_id, team_id) REFERENCES teams (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, person_id) REFERENCES people (organisation_id, id),
    FOREIGN KEY (organisation_id, worker_id) REFERENCES workers (organisation_id, id)
);
CREATE INDEX family_feedback_team ON family_feedback (organisation_id, team_id, quarter);
CREATE INDEX family_feedback_worker ON family_feedback (organisation_id, worker_id) WHERE worker_id IS NOT NULL;
CREATE INDEX family_feedback_family ON family_feedback (organisation_id, family_id) WHERE family_id IS NOT NULL;

-- That a person answered (or declined) an occasion's questions, kept apart from what they answered, so the page asks
-- once and an anonymous answer is not tied to them.
CREATE TABLE family_feedback_given (
    organisation_id uuid NOT NULL,
    family_id       uuid NOT NULL,
    person_id       uuid NOT NULL,
    occasion_id     uuid NOT NULL,
    PRIMARY KEY (organisation_id, person_id, occasion_id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, person_id) REFERENCES people (organisation_id, id)
);
CREATE INDEX family_feedback_given_family ON family_feedback_given (organisation_id, family_id);

-- A family's "what got in the way for you" is a friction that fell on the family; a named one names its family.
ALTER TABLE frictions ADD COLUMN feedback_id uuid;
ALTER TABLE frictions ADD FOREIGN KEY (organisation_id, feedback_id) REFERENCES family_feedback (organisation_id, id);
ALTER TABLE frictions ADD CHECK ((fell_on = 'family') = (feedback_id IS NOT NULL));

-- A change of how a team is managed, from the day it started: what a study compares before and after.
CREATE TABLE practice_changes (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    team_id         uuid NOT NULL,
    started_on      date NOT NULL,
    description     text NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
    created_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, team_id) REFERENCES teams (organisation_id, id),
    FOREIGN KEY (organisation_id, created_by) REFERENCES workers (organisation_id, id)
);
CREATE INDEX practice_changes_team ON practice_changes (organisation_id, team_id, started_on);

-- A study of practice: its pseudonyms are HMACs under its own key, so the same family is the same row within a study
-- and cannot be matched across studies. One administrator proposes it, another approves it.
CREATE TABLE research_studies (
    organisation_id  uuid NOT NULL,
    id               uuid NOT NULL,
    title            text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    ethics_reference text NOT NULL CHECK (length(ethics_reference) BETWEEN 1 AND 200),
    from_day         date NOT NULL,
    to_day           date NOT NULL CHECK (to_day >= from_day),
    fields           text[] NOT NULL CHECK (cardinality(fields) BETWEEN 1 AND 50),
    pseudonym_key    bytea NOT NULL CHECK (length(pseudonym_key) = 32),
    created_by       uuid NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, created_by) REFERENCES workers (organisation_id, id)
);

CREATE TABLE research_study_approvals (
    organisation_id uuid NOT NULL,
    study_id        uuid NOT NULL,
    approved_by     uuid NOT NULL,
    approved_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, study_id),
    FOREIGN KEY (organisation_id, study_id) REFERENCES research_studies (organisation_id, id),
    FOREIGN KEY (organisation_id, approved_by) REFERENCES workers (organisation_id, id)
);

CREATE TABLE research_extracts (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    study_id        uuid NOT NULL,
    rows            integer NOT NULL CHECK (rows >= 0),
    sha256          bytea NOT NULL CHECK (length(sha256) = 32),
    created_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, study_id) REFERENCES research_studies (organisation_id, id),
    FOREIGN KEY (organisation_id, created_by) REFERENCES workers (organisation_id, id)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['frictions', 'friction_events', 'family_feedback', 'family_feedback_given', 'practice_changes',
                             'research_studies', 'research_study_approvals', 'research_extracts'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION refuse_change()', t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()', t || '_no_truncate', t);
        EXECUTE format('GRANT SELECT, INSERT ON %I TO kith_app', t);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY organisation ON %I TO kith_app USING (organisation_id = kith_organisation()) '
                       'WITH CHECK (organisation_id = kith_organisation())', t);
        -- As every organisation's table (0035): certified disposal deletes the rows of a family disposed of.
        EXECUTE format('GRANT SELECT, DELETE ON %I TO kith_disposer', t);
        EXECUTE format('CREATE POLICY disposer ON %I TO kith_disposer USING (organisation_id = kith_organisation()) '
                       'WITH CHECK (organisation_id = kith_organisation())', t);
    END LOOP;
END
$$;
