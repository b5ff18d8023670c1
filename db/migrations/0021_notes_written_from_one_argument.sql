-- kith_write_notes takes its notes as one JSON array (db/functions/kith_write_notes.sql) instead of eighteen parallel
-- arrays that had to match in three places; the old signature goes, so that one text of the function stands.
DROP FUNCTION public.kith_write_notes(uuid, uuid, uuid[], uuid[], uuid[], text[], text[], boolean[], double precision[],
                                      boolean[], boolean[], text[], text[], text[], text[], text[], text[], boolean[]);
