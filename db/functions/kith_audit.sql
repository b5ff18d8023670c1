-- The one way an audit event is written, behind the wall and in its organisation: by Records.audit (each read and
-- write of a family's record), Records.auditAdministration (the organisation's feed: family_ids NULL, one event for
-- each team named, or one naming none), the family page (a family member: person, not worker) and kith_write_notes (a
-- run of notes, one event each) and SCIM (the provider's token: `scim_token`, worker and person NULL); a read through a
-- subject access request names it (`subject_access_request`); a search says how long its question was and how many it
-- found (`search_length`, `search_hits`), never its words. One event for
-- each family named; `records` and `break_glass` hold one value for every event, or one for each family in order (a run
-- of notes: the n-th family's event names the n-th note). Exactly one actor is set (audit_events_one_actor). The timeline's read writes its event inside the page's own
-- statement (kith_read_timeline), where its break-glass mark is known.
-- PL/pgSQL, not SQL: PostgreSQL 15 plans a SQL function's INSERT again at every call, where PL/pgSQL keeps the plan for
-- the connection's life (a note's POST ran at 889 requests a second against 1,139, bench/ratios.sh's wrk, same minute).
CREATE OR REPLACE FUNCTION public.kith_audit(worker uuid, person uuid, family_ids uuid[], action text, entity text, records uuid[], reason text, break_glass boolean[], team_ids uuid[], scim_token uuid DEFAULT NULL, subject_access_request uuid DEFAULT NULL, search_length integer DEFAULT NULL, search_hits integer DEFAULT NULL)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
    INSERT INTO audit_events (organisation_id, worker_id, person_id, family_id, action, entity, record_id, reason, break_glass,
                              team_id, scim_token_id, subject_access_request_id, search_length, search_hits)
    SELECT kith_wall(), worker, person, f.family, action, entity,
           CASE WHEN cardinality(records) > 1 THEN records[f.n] ELSE records[1] END, reason,
           coalesce(CASE WHEN cardinality(break_glass) > 1 THEN break_glass[f.n] ELSE break_glass[1] END, false), team,
           scim_token, subject_access_request, search_length, search_hits
    FROM unnest(coalesce(family_ids, ARRAY[NULL]::uuid[])) WITH ORDINALITY AS f(family, n)
    CROSS JOIN unnest(CASE WHEN cardinality(team_ids) > 0 THEN team_ids ELSE ARRAY[NULL]::uuid[] END) AS team;
END
$function$;
REVOKE ALL ON FUNCTION public.kith_audit(worker uuid, person uuid, family_ids uuid[], action text, entity text, records uuid[], reason text, break_glass boolean[], team_ids uuid[], scim_token uuid, subject_access_request uuid, search_length integer, search_hits integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_audit(worker uuid, person uuid, family_ids uuid[], action text, entity text, records uuid[], reason text, break_glass boolean[], team_ids uuid[], scim_token uuid, subject_access_request uuid, search_length integer, search_hits integer) TO kith_app;
