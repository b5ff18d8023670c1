-- New notes, each with its first revision and its audit event, written by one statement that enters the wall itself
-- (kith_enter_wall, as every server transaction does): a practitioner's `POST …/notes` then runs as its own
-- transaction, with no BEGIN and COMMIT of its own, and a device's run of pushed notes calls it inside the push's
-- transaction (entering the wall again changes nothing there). It leaves the transaction's limits as they are: a
-- statement's timeout is armed when the statement starts, so one set inside it would not count.
--
-- Every contact a note names must be one of its family's, and every note and revision must be new; when either is not
-- so it writes nothing and returns NULL, and the caller finds out which (Records.refusal) and says so. Otherwise it
-- returns when they were written (the transaction's time). A note or revision written by another transaction between
-- the check and the insert is a unique violation, which ends the statement with nothing written.
-- Arrays bind without NULLs, so absent text travels as '' and an absent time as -1.
CREATE OR REPLACE FUNCTION public.kith_write_notes(worker uuid, device uuid, note_ids uuid[], revision_ids uuid[], note_family_ids uuid[], contact_ids text[], audiences text[], with_family boolean[], recorded_at double precision[], clock_suspect boolean[], late boolean[], bodies text[], observed text[], analysis text[], decision text[], family_words text[], next_steps text[], break_glass boolean[])
 RETURNS timestamp with time zone
 LANGUAGE plpgsql
AS $function$
#variable_conflict use_column
DECLARE
    organisation uuid := kith_wall();
    written integer;
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
    -- The statement's inserts run to their end whatever its last query reads; then each note's event.
    SELECT count(*) INTO written FROM given;
    PERFORM kith_audit(worker, NULL, ARRAY[g.family_id], 'write', 'note', g.id, NULL, g.break_glass, '{}')
    FROM unnest(note_ids, note_family_ids, break_glass) AS g(id, family_id, break_glass);
    RETURN now();
END
$function$;
REVOKE ALL ON FUNCTION public.kith_write_notes(worker uuid, device uuid, note_ids uuid[], revision_ids uuid[], note_family_ids uuid[], contact_ids text[], audiences text[], with_family boolean[], recorded_at double precision[], clock_suspect boolean[], late boolean[], bodies text[], observed text[], analysis text[], decision text[], family_words text[], next_steps text[], break_glass boolean[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_write_notes(worker uuid, device uuid, note_ids uuid[], revision_ids uuid[], note_family_ids uuid[], contact_ids text[], audiences text[], with_family boolean[], recorded_at double precision[], clock_suspect boolean[], late boolean[], bodies text[], observed text[], analysis text[], decision text[], family_words text[], next_steps text[], break_glass boolean[]) TO kith_app;
