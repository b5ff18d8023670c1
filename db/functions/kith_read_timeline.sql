-- A page of a family's timeline and the read's audit event, in one statement that enters the wall itself (as
-- kith_write_notes does for a note): a `GET …/timeline` then runs as its own transaction, its lookup and this, two round
-- trips. The page is newest first after a keyset position (time, id), `page_size` entries and one more to say whether
-- there are more. The caller's access (FamilyAccess) decides what it may see and how the read is marked: whether it sees
-- restricted notes, and whether the event is marked break-glass when the page shows one (`glass_if_restricted`) or
-- does not (`glass_otherwise`). A withdrawn note or contact is not in it, and a contact is as corrected
-- (current_contacts). A cursor key that is not a time is a data exception, and nothing is written.
CREATE OR REPLACE FUNCTION public.kith_read_timeline(worker uuid, family uuid, sees_restricted boolean, after_key text, after_id uuid, page_size integer, glass_if_restricted boolean, glass_otherwise boolean)
 RETURNS TABLE(kind text, at timestamp with time zone, id uuid, worker_id uuid, person_id uuid, summary text, detail text, at_key text)
 LANGUAGE plpgsql
AS $function$
#variable_conflict use_column
DECLARE
    organisation uuid := kith_wall();
    after_at timestamptz := after_key::timestamptz;
BEGIN
    RETURN QUERY
    -- Each kind of entry is read newest first after the position and only as far as a page could take from it, so a
    -- family with years of notes costs a page's worth of each kind, not its whole history.
    WITH entries (kind, at, id, worker_id, person_id, summary, detail, restricted) AS (
        (SELECT 'contact', c.occurred_at, c.id, c.recorded_by, NULL::uuid,
                c.kind || CASE WHEN c.child_seen_alone THEN ', child seen alone'
                               WHEN c.child_seen THEN ', child seen' ELSE '' END
                       || CASE WHEN c.corrected THEN ', corrected' ELSE '' END,
                c.location, false
         FROM current_contacts c WHERE c.organisation_id = organisation AND c.family_id = family AND c.withdrawn_at IS NULL
           AND (after_at IS NULL OR (c.occurred_at, c.id) < (after_at, after_id))
         ORDER BY c.occurred_at DESC, c.id DESC LIMIT page_size + 1)
        UNION ALL
        (SELECT 'note', n.created_at, n.id, n.author_id, NULL,
                n.audience || CASE WHEN latest.number > 1 THEN ', amended' ELSE '' END,
                left(latest.body, 280), n.audience = 'restricted'
         FROM current_notes n
         CROSS JOIN LATERAL (SELECT r.number, r.body FROM note_revisions r
                             WHERE r.organisation_id = n.organisation_id AND r.note_id = n.id
                             ORDER BY r.number DESC LIMIT 1) latest
         WHERE n.organisation_id = organisation AND n.family_id = family
           AND kith_note_readable(n.audience, n.author_id, worker, sees_restricted)
           AND NOT EXISTS (SELECT 1 FROM note_withdrawals nw WHERE nw.organisation_id = n.organisation_id AND nw.note_id = n.id)
           AND (after_at IS NULL OR (n.created_at, n.id) < (after_at, after_id))
         ORDER BY n.created_at DESC, n.id DESC LIMIT page_size + 1)
        UNION ALL
        (SELECT 'allocationStarted', a.started_on::timestamptz, a.id, a.worker_id, NULL, a.role, NULL, false
         FROM allocations a WHERE a.organisation_id = organisation AND a.family_id = family
           AND (after_at IS NULL OR (a.started_on::timestamptz, a.id) < (after_at, after_id))
         ORDER BY a.started_on DESC, a.id DESC LIMIT page_size + 1)
        UNION ALL
        (SELECT 'allocationEnded', a.ended_on::timestamptz, a.id, a.worker_id, NULL,
                a.end_reason || CASE WHEN a.joint_handover_visit THEN ', joint handover visit' ELSE '' END,
                NULL, false
         FROM allocations a WHERE a.organisation_id = organisation AND a.family_id = family AND a.ended_on IS NOT NULL
           AND (after_at IS NULL OR (a.ended_on::timestamptz, a.id) < (after_at, after_id))
         ORDER BY a.ended_on DESC, a.id DESC LIMIT page_size + 1)
        UNION ALL
        (SELECT 'handover', h.written_at, h.id, h.written_by, NULL,
                'handover note' || CASE WHEN h.version > 1 THEN ', version ' || h.version ELSE '' END
                    || CASE WHEN h.joint_visit_contact_id IS NOT NULL THEN ', after a joint visit' ELSE '' END,
                h.note, false
         FROM handover_notes h WHERE h.organisation_id = organisation AND h.family_id = family
           AND (after_at IS NULL OR (h.written_at, h.id) < (after_at, after_id))
         ORDER BY h.written_at DESC, h.id DESC LIMIT page_size + 1)
        UNION ALL
        (SELECT 'conferenceStage', e.on_date::timestamptz, e.id, e.recorded_by, NULL, e.stage, e.note, false
         FROM conference_stage_events e WHERE e.organisation_id = organisation AND e.family_id = family
           AND (after_at IS NULL OR (e.on_date::timestamptz, e.id) < (after_at, after_id))
         ORDER BY e.on_date DESC, e.id DESC LIMIT page_size + 1)
        UNION ALL
        (SELECT 'plan', p.created_at, p.id, p.created_by, NULL, 'version ' || p.version, p.contingency, false
         FROM family_plans p WHERE p.organisation_id = organisation AND p.family_id = family
           AND (after_at IS NULL OR (p.created_at, p.id) < (after_at, after_id))
         ORDER BY p.created_at DESC, p.id DESC LIMIT page_size + 1)
        UNION ALL
        (SELECT 'planItemUpdate', u.created_at, u.id, u.author_id, u.person_id,
                coalesce(u.status, 'update') || CASE WHEN u.person_id IS NOT NULL THEN ', from the family''s page' ELSE '' END,
                left(u.text, 280), false
         FROM plan_item_updates u WHERE u.organisation_id = organisation AND u.family_id = family
           AND (after_at IS NULL OR (u.created_at, u.id) < (after_at, after_id))
         ORDER BY u.created_at DESC, u.id DESC LIMIT page_size + 1)
        UNION ALL
        (SELECT 'familyMessage', m.created_at, m.id, NULL, m.person_id,
                CASE WHEN m.about_note_id IS NULL THEN 'message from the family''s page'
                     ELSE 'the family say a note is not right (' || m.about_note_id || ')' END,
                left(m.text, 280), false
         FROM family_messages m WHERE m.organisation_id = organisation AND m.family_id = family
           AND (after_at IS NULL OR (m.created_at, m.id) < (after_at, after_id))
         ORDER BY m.created_at DESC, m.id DESC LIMIT page_size + 1)
        UNION ALL
        (SELECT 'friction', x.created_at, x.id, x.filed_by, g.person_id,
                CASE WHEN x.fell_on = 'family' THEN 'what got in the way, from the family''s page'
                     ELSE 'what got in the way' || coalesce(' (' || x.kind || ')', '') END,
                left(x.text, 280), false
         FROM frictions x
         LEFT JOIN family_feedback g ON g.organisation_id = x.organisation_id AND g.id = x.feedback_id
         WHERE x.organisation_id = organisation AND x.family_id = family
           AND (after_at IS NULL OR (x.created_at, x.id) < (after_at, after_id))
         ORDER BY x.created_at DESC, x.id DESC LIMIT page_size + 1)
    ),
    page AS (
        SELECT kind, at, id, worker_id, person_id, summary, detail, restricted,
               to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at_key
        FROM entries
        ORDER BY at DESC, id DESC
        LIMIT page_size + 1
    ),
    read AS (
        INSERT INTO audit_events (organisation_id, worker_id, family_id, action, entity, break_glass)
        SELECT organisation, worker, family, 'read', 'timeline',
               CASE WHEN EXISTS (SELECT 1 FROM (SELECT restricted FROM page ORDER BY at DESC, id DESC LIMIT page_size) shown
                                 WHERE shown.restricted)
                    THEN glass_if_restricted ELSE glass_otherwise END
    )
    SELECT kind, at, id, worker_id, person_id, summary, detail, at_key FROM page ORDER BY at DESC, id DESC;
END
$function$;
REVOKE ALL ON FUNCTION public.kith_read_timeline(worker uuid, family uuid, sees_restricted boolean, after_key text, after_id uuid, page_size integer, glass_if_restricted boolean, glass_otherwise boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_read_timeline(worker uuid, family uuid, sees_restricted boolean, after_key text, after_id uuid, page_size integer, glass_if_restricted boolean, glass_otherwise boolean) TO kith_app;
