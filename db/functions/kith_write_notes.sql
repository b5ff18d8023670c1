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
-- The notes come as one JSON array, an object a note, its keys the fields of the type kith_note_entry (migration 0022;
-- NotesWrite.Given in Notes+Records.swift writes them); what a note does not have is left out. They are read once.
CREATE OR REPLACE FUNCTION public.kith_write_notes(worker uuid, device uuid, entries jsonb)
 RETURNS timestamp with time zone
 LANGUAGE plpgsql
AS $function$
#variable_conflict use_column
DECLARE
    organisation uuid := kith_wall();
    given kith_note_entry[] := ARRAY(SELECT g FROM jsonb_populate_recordset(NULL::kith_note_entry, entries) AS g);
BEGIN
    IF EXISTS (SELECT 1 FROM unnest(given) AS g
               WHERE g.contact_id IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM contacts c
                                 WHERE c.organisation_id = organisation AND c.family_id = g.family_id
                                   AND c.id = g.contact_id))
       OR EXISTS (SELECT 1 FROM unnest(given) AS g
                  WHERE EXISTS (SELECT 1 FROM notes n WHERE n.organisation_id = organisation AND n.id = g.id)
                     OR EXISTS (SELECT 1 FROM note_revisions r
                                WHERE r.organisation_id = organisation AND r.id = g.revision_id)) THEN
        RETURN NULL;
    END IF;
    WITH note AS (
        INSERT INTO notes (organisation_id, id, family_id, contact_id, audience, written_with_family, author_id,
                           source_device_id, device_recorded_at, clock_suspect, late_after_reallocation)
        SELECT organisation, g.id, g.family_id, g.contact_id, g.audience, g.with_family, worker, device,
               to_timestamp(g.recorded_at), g.clock_suspect, g.late
        FROM unnest(given) AS g
    )
    INSERT INTO note_revisions (organisation_id, id, note_id, family_id, number, body, observed, analysis, decision,
                                family_words, next_steps, author_id)
    SELECT organisation, g.revision_id, g.id, g.family_id, 1, g.body, g.observed, g.analysis, g.decision,
           g.family_words, g.next_steps, worker
    FROM unnest(given) AS g;
    PERFORM kith_audit(worker, NULL, array_agg(g.family_id ORDER BY g.ordinality), 'write', 'note',
                       array_agg(g.id ORDER BY g.ordinality), NULL, array_agg(g.break_glass ORDER BY g.ordinality), '{}')
    FROM unnest(given) WITH ORDINALITY AS g
    HAVING count(*) > 0;
    RETURN now();
END
$function$;
REVOKE ALL ON FUNCTION public.kith_write_notes(worker uuid, device uuid, entries jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_write_notes(worker uuid, device uuid, entries jsonb) TO kith_app;
