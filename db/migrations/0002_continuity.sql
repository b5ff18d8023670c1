-- Continuity: the one definition of a handover, and the indexes that keep measures proportional to the team or
-- family asked about.

-- A handover is the end of an allocated worker's allocation that another allocated worker took up: the incoming
-- allocation is the family's first allocated-worker allocation by someone else that started on or after the outgoing
-- one started. An allocation that ended with nobody following (the family closed) is not a handover.
-- A joint handover visit is either recorded on the ending allocation or evident from the record: a contact within 28
-- days of the handover at which both the outgoing and the incoming worker were present.
CREATE VIEW handovers AS
SELECT a.organisation_id,
       a.family_id,
       a.id                AS outgoing_id,
       a.worker_id         AS outgoing_worker_id,
       a.ended_on,
       a.created_at        AS outgoing_created_at,
       coalesce(btrim(a.handover_note), '') <> '' AS with_note,
       coalesce(a.joint_handover_visit, false) OR EXISTS (
           SELECT 1
           FROM contacts c
           JOIN contact_workers o ON o.organisation_id = c.organisation_id AND o.contact_id = c.id AND o.worker_id = a.worker_id
           JOIN contact_workers i ON i.organisation_id = c.organisation_id AND i.contact_id = c.id AND i.worker_id = incoming.worker_id
           WHERE c.organisation_id = a.organisation_id AND c.family_id = a.family_id
             AND c.occurred_at >= (a.ended_on - 28)::timestamptz AND c.occurred_at < (a.ended_on + 29)::timestamptz
       )                   AS with_joint_visit,
       incoming.id         AS incoming_id,
       incoming.worker_id  AS incoming_worker_id,
       incoming.started_on AS incoming_started_on,
       incoming.created_at AS incoming_created_at
FROM allocations a
JOIN LATERAL (
    SELECT b.id, b.worker_id, b.started_on, b.created_at
    FROM allocations b
    WHERE b.organisation_id = a.organisation_id AND b.family_id = a.family_id AND b.role = 'allocatedWorker'
      AND b.id <> a.id AND b.worker_id <> a.worker_id AND b.started_on >= a.started_on
    ORDER BY b.started_on, b.created_at
    LIMIT 1
) incoming ON true
WHERE a.role = 'allocatedWorker' AND a.ended_on IS NOT NULL;

CREATE INDEX allocations_worker ON allocations (organisation_id, worker_id, started_on);
CREATE INDEX conference_stage_events_family ON conference_stage_events (organisation_id, family_id, on_date);
CREATE INDEX family_plans_family ON family_plans (organisation_id, family_id, created_at);
CREATE INDEX supervision_sessions_supervisor ON supervision_sessions (organisation_id, supervisor_id, held_on);
