-- Retention rules and legal holds (issue #27). An organisation's rules say how long a family's record is kept from
-- what (the youngest child in focus's birth, the family's closing, its last activity); until an organisation sets its
-- own, Kith's defaults apply (`RetentionRule.defaults`, no law written in here). A family follows its organisation's
-- first rule unless an officer chose another for it. Holds stop disposal: placed on a family or a whole team, released
-- by appending a release; an open subject access request holds its families by itself.
CREATE TABLE retention_rules (
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    code            text NOT NULL CHECK (code ~ '^[A-Za-z][A-Za-z0-9_-]{0,49}$'),
    position        integer NOT NULL,
    description     text NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
    anchor          text NOT NULL CHECK (anchor IN ('youngestChildBirth', 'familyClosed', 'lastActivity')),
    years           integer NOT NULL CHECK (years BETWEEN 0 AND 150),
    PRIMARY KEY (organisation_id, code),
    UNIQUE (organisation_id, position)
);
GRANT SELECT, INSERT, DELETE ON retention_rules TO kith_app;
ALTER TABLE retention_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE retention_rules FORCE ROW LEVEL SECURITY;
CREATE POLICY organisation ON retention_rules TO kith_app USING (organisation_id = kith_organisation())
    WITH CHECK (organisation_id = kith_organisation());

ALTER TABLE families ADD COLUMN retention_rule text CHECK (retention_rule ~ '^[A-Za-z][A-Za-z0-9_-]{0,49}$');

CREATE TABLE legal_holds (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    family_id       uuid,
    team_id         uuid,
    reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    placed_by       uuid NOT NULL,
    placed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    CHECK (num_nonnulls(family_id, team_id) = 1),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, team_id) REFERENCES teams (organisation_id, id),
    FOREIGN KEY (organisation_id, placed_by) REFERENCES workers (organisation_id, id)
);
CREATE INDEX legal_holds_family ON legal_holds (organisation_id, family_id);

CREATE TABLE legal_hold_releases (
    organisation_id uuid NOT NULL,
    hold_id         uuid NOT NULL,
    reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    released_by     uuid NOT NULL,
    released_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, hold_id),
    FOREIGN KEY (organisation_id, hold_id) REFERENCES legal_holds (organisation_id, id),
    FOREIGN KEY (organisation_id, released_by) REFERENCES workers (organisation_id, id)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['legal_holds', 'legal_hold_releases'] LOOP
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
