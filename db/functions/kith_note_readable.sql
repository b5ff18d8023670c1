-- The one SQL statement of who reads a note: anyone with access to the family, but a restricted note only those the
-- access policy says see restricted notes (`FamilyAccess.seesRestricted`), and its author always.
CREATE OR REPLACE FUNCTION public.kith_note_readable(audience text, author_id uuid, reader uuid, sees_restricted boolean)
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT audience <> 'restricted' OR sees_restricted OR author_id = reader
$function$;
GRANT EXECUTE ON FUNCTION public.kith_note_readable(audience text, author_id uuid, reader uuid, sees_restricted boolean) TO PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_note_readable(audience text, author_id uuid, reader uuid, sees_restricted boolean) TO kith_app;
GRANT EXECUTE ON FUNCTION public.kith_note_readable(audience text, author_id uuid, reader uuid, sees_restricted boolean) TO kith_definer;
