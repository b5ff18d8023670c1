-- The record of what happened is append-only: corrections are new rows, never edits. The one exception is certified
-- disposal (`kith-server dispose`): kith_disposer, which nobody logs in as, deleting in a transaction it marked as
-- disposing. Its truncation is refused like anyone's.
CREATE OR REPLACE FUNCTION public.refuse_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP = 'DELETE' AND current_user = 'kith_disposer' AND current_setting('kith.disposing', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$function$;
