-- A note as kith_write_notes reads it from its JSON argument: the keys NotesWrite.Given writes, named once here.
CREATE TYPE kith_note_entry AS (
    id uuid, revision_id uuid, family_id uuid, contact_id uuid, audience text, with_family boolean,
    recorded_at double precision, clock_suspect boolean, late boolean, body text, observed text, analysis text,
    decision text, family_words text, next_steps text, break_glass boolean);

-- kith_audit takes the records its events name, and their break-glass marks, as arrays (db/functions/kith_audit.sql),
-- so that a run of fifty pushed notes is fifty events from one call rather than fifty calls. (A database migrated from
-- empty has no kith_audit yet: its first text comes from db/functions/ after the migrations.)
DROP FUNCTION IF EXISTS kith_audit(uuid, uuid, uuid[], text, text, uuid, text, boolean, uuid[]);
