-- The one way an audit event is written, behind the wall and in its organisation: by Records.audit (each read and
-- write of a family's record), Records.auditAdministration (the organisation's feed: family_ids NULL, one event for
-- each team named, or one naming none), the family page (a family member: person, not worker) and kith_write_notes.
-- One event for each family named; exactly one of worker and person is set (audit_events_one_actor). The timeline's
-- read writes its event inside the page's own statement (kith_read_timeline), where its break-glass mark is known.
CREATE OR REPLACE FUNCTION public.kith_audit(worker uuid, person uuid, family_ids uuid[], action text, entity text, record uuid, reason text, break_glass boolean, team_ids uuid[])
 RETURNS void
 LANGUAGE sql
AS $function$
    INSERT INTO audit_events (organisation_id, worker_id, person_id, family_id, action, entity, record_id, reason, break_glass,
                              team_id)
    SELECT kith_wall(), worker, person, family, action, entity, record, reason, break_glass, team
    FROM unnest(coalesce(family_ids, ARRAY[NULL]::uuid[])) AS family
    CROSS JOIN unnest(CASE WHEN cardinality(team_ids) > 0 THEN team_ids ELSE ARRAY[NULL]::uuid[] END) AS team
$function$;
REVOKE ALL ON FUNCTION public.kith_audit(worker uuid, person uuid, family_ids uuid[], action text, entity text, record uuid, reason text, break_glass boolean, team_ids uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_audit(worker uuid, person uuid, family_ids uuid[], action text, entity text, record uuid, reason text, break_glass boolean, team_ids uuid[]) TO kith_app;
