-- Conferences as FGC coordinators run them: referrals from outside Kith, the family's agreement with its date and
-- who gave it, participants' roles, the coordinator's history, meetings of their own with their private family time
-- and who attended, and progress in a network member's words.

-- Schools, health visitors and the police refer most families: a referrer is a Kith worker or a named outsider.
ALTER TABLE conferences ALTER COLUMN referrer_id DROP NOT NULL;
ALTER TABLE conferences ADD COLUMN referrer_name text CHECK (length(referrer_name) BETWEEN 1 AND 200);
ALTER TABLE conferences ADD COLUMN referrer_agency text CHECK (length(referrer_agency) BETWEEN 1 AND 200);
ALTER TABLE conferences ADD CONSTRAINT conferences_referrer CHECK (referrer_id IS NOT NULL OR referrer_name IS NOT NULL);
ALTER TABLE conferences ADD COLUMN referred_on date;
UPDATE conferences SET referred_on = (created_at AT TIME ZONE 'UTC')::date;
ALTER TABLE conferences ALTER COLUMN referred_on SET NOT NULL;
ALTER TABLE conferences ALTER COLUMN referred_on SET DEFAULT current_date;
ALTER TABLE conferences ADD COLUMN family_agreed_on date;
ALTER TABLE conferences ADD COLUMN family_agreed_by uuid;
ALTER TABLE conferences ADD FOREIGN KEY (organisation_id, family_agreed_by) REFERENCES people (organisation_id, id);

-- Who coordinated, from when: a change of coordinator keeps the earlier ones.
CREATE TABLE conference_coordinators (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    conference_id   uuid NOT NULL,
    family_id       uuid NOT NULL,
    coordinator_id  uuid NOT NULL,
    from_on         date NOT NULL,
    changed_by      uuid NOT NULL,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, conference_id) REFERENCES conferences (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, coordinator_id) REFERENCES workers (organisation_id, id),
    FOREIGN KEY (organisation_id, changed_by) REFERENCES workers (organisation_id, id)
);
CREATE INDEX conference_coordinators_family ON conference_coordinators (organisation_id, family_id);
INSERT INTO conference_coordinators (organisation_id, id, conference_id, family_id, coordinator_id, from_on, changed_by, changed_at)
SELECT organisation_id, gen_random_uuid(), id, family_id, coordinator_id, referred_on, created_by, created_at
FROM conferences WHERE coordinator_id IS NOT NULL;

-- A participant's part in the conference.
ALTER TABLE conference_participants ADD COLUMN role text NOT NULL DEFAULT 'familyMember'
    CHECK (role IN ('familyMember', 'childAdvocate', 'informationGiver', 'interpreter', 'professional', 'other'));
UPDATE conference_participants SET role = 'professional' WHERE worker_id IS NOT NULL;

-- The initial conference and each review are meetings of their own, each with its private family time.
CREATE TABLE conference_meetings (
    organisation_id         uuid NOT NULL,
    id                      uuid NOT NULL,
    conference_id           uuid NOT NULL,
    family_id               uuid NOT NULL,
    kind                    text NOT NULL CHECK (kind IN ('initial', 'review')),
    held_on                 date NOT NULL,
    private_time_started_at timestamptz,
    private_time_ended_at   timestamptz CHECK (private_time_ended_at >= private_time_started_at),
    recorded_by             uuid NOT NULL,
    recorded_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, conference_id) REFERENCES conferences (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id),
    FOREIGN KEY (organisation_id, recorded_by) REFERENCES workers (organisation_id, id)
);
CREATE INDEX conference_meetings_family ON conference_meetings (organisation_id, family_id, held_on);

CREATE TABLE meeting_attendance (
    organisation_id uuid NOT NULL,
    meeting_id      uuid NOT NULL,
    participant_id  uuid NOT NULL,
    conference_id   uuid NOT NULL,
    family_id       uuid NOT NULL,
    attended        boolean NOT NULL,
    PRIMARY KEY (organisation_id, meeting_id, participant_id),
    FOREIGN KEY (organisation_id, meeting_id) REFERENCES conference_meetings (organisation_id, id),
    FOREIGN KEY (organisation_id, participant_id) REFERENCES conference_participants (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id)
);
CREATE INDEX meeting_attendance_family ON meeting_attendance (organisation_id, family_id);

-- The one private family time a conference had becomes its initial meeting's.
INSERT INTO conference_meetings (organisation_id, id, conference_id, family_id, kind, held_on, private_time_started_at,
                                 private_time_ended_at, recorded_by, recorded_at)
SELECT organisation_id, gen_random_uuid(), id, family_id, 'initial', (private_time_started_at AT TIME ZONE 'UTC')::date,
       private_time_started_at, private_time_ended_at, created_by, created_at
FROM conferences WHERE private_time_started_at IS NOT NULL;
ALTER TABLE conferences DROP COLUMN private_time_started_at;
ALTER TABLE conferences DROP COLUMN private_time_ended_at;

-- Progress a worker writes down in a network member's words ("Nan says the school runs are working").
ALTER TABLE plan_item_updates ADD COLUMN from_person_id uuid;
ALTER TABLE plan_item_updates ADD FOREIGN KEY (organisation_id, from_person_id) REFERENCES people (organisation_id, id);

CREATE TRIGGER conference_coordinators_sync AFTER INSERT OR UPDATE OR DELETE ON conference_coordinators
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('conference', 'conference_id', 'family_id');
CREATE TRIGGER conference_meetings_sync AFTER INSERT OR UPDATE OR DELETE ON conference_meetings
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('conference', 'conference_id', 'family_id');
CREATE TRIGGER meeting_attendance_sync AFTER INSERT OR UPDATE OR DELETE ON meeting_attendance
    FOR EACH ROW EXECUTE FUNCTION record_sync_change('conference', 'conference_id', 'family_id');

GRANT SELECT, INSERT ON conference_coordinators, conference_meetings, meeting_attendance TO kith_app;
GRANT UPDATE ON conference_meetings, meeting_attendance TO kith_app;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['conference_coordinators', 'conference_meetings', 'meeting_attendance'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY organisation ON %I TO kith_app USING (organisation_id = kith_organisation()) '
            'WITH CHECK (organisation_id = kith_organisation())', t);
    END LOOP;
END
$$;
