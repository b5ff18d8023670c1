import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

extension Records {
    /// One page of the family's story, newest first, after a keyset position (time, id), and the read's audit event,
    /// in one statement: marked `breakGlass` as `Records.audit` would mark it, by whether the page shows a restricted note.
    func readTimeline(
        of familyId: UUID, access: FamilyAccess, after: KeysetPosition?, limit: Int
    ) async throws -> Components.Schemas.TimelinePage {
        let org = principal.organisationId
        let rows = try await connection.query(
            TimelineRead.self,
            """
            WITH entries (kind, at, id, worker_id, person_id, summary, detail, restricted) AS (
                SELECT 'contact', c.occurred_at, c.id, c.recorded_by, NULL::uuid,
                       c.kind || CASE WHEN c.child_seen_alone THEN ', child seen alone'
                                      WHEN c.child_seen THEN ', child seen' ELSE '' END,
                       c.location, false
                FROM contacts c WHERE c.organisation_id = \(org) AND c.family_id = \(familyId)
                UNION ALL
                SELECT 'note', n.created_at, n.id, n.author_id, NULL,
                       n.audience || CASE WHEN latest.number > 1 THEN ', amended' ELSE '' END,
                       left(latest.body, 280), n.audience = 'restricted'
                FROM notes n
                CROSS JOIN LATERAL (SELECT r.number, r.body FROM note_revisions r
                                    WHERE r.organisation_id = n.organisation_id AND r.note_id = n.id
                                    ORDER BY r.number DESC LIMIT 1) latest
                WHERE n.organisation_id = \(org) AND n.family_id = \(familyId)
                  AND kith_note_readable(n.audience, n.author_id, \(principal.workerId), \(access.seesRestricted))
                UNION ALL
                SELECT 'allocationStarted', a.started_on::timestamptz, a.id, a.worker_id, NULL, a.role, NULL, false
                FROM allocations a WHERE a.organisation_id = \(org) AND a.family_id = \(familyId)
                UNION ALL
                SELECT 'allocationEnded', a.ended_on::timestamptz, a.id, a.worker_id, NULL,
                       a.end_reason || CASE WHEN a.joint_handover_visit THEN ', joint handover visit' ELSE '' END,
                       NULL, false
                FROM allocations a WHERE a.organisation_id = \(org) AND a.family_id = \(familyId) AND a.ended_on IS NOT NULL
                UNION ALL
                SELECT 'handover', h.written_at, h.id, h.written_by, NULL,
                       'handover note' || CASE WHEN h.version > 1 THEN ', version ' || h.version ELSE '' END
                           || CASE WHEN h.joint_visit_contact_id IS NOT NULL THEN ', after a joint visit' ELSE '' END,
                       h.note, false
                FROM handover_notes h WHERE h.organisation_id = \(org) AND h.family_id = \(familyId)
                UNION ALL
                SELECT 'conferenceStage', e.on_date::timestamptz, e.id, e.recorded_by, NULL, e.stage, e.note, false
                FROM conference_stage_events e WHERE e.organisation_id = \(org) AND e.family_id = \(familyId)
                UNION ALL
                SELECT 'plan', p.created_at, p.id, p.created_by, NULL, 'version ' || p.version, p.contingency, false
                FROM family_plans p WHERE p.organisation_id = \(org) AND p.family_id = \(familyId)
                UNION ALL
                SELECT 'planItemUpdate', u.created_at, u.id, u.author_id, u.person_id,
                       coalesce(u.status, 'update') || CASE WHEN u.person_id IS NOT NULL THEN ', from the family''s page' ELSE '' END,
                       left(u.text, 280), false
                FROM plan_item_updates u WHERE u.organisation_id = \(org) AND u.family_id = \(familyId)
                UNION ALL
                SELECT 'familyMessage', m.created_at, m.id, NULL, m.person_id, 'message from the family''s page', left(m.text, 280), false
                FROM family_messages m WHERE m.organisation_id = \(org) AND m.family_id = \(familyId)
            ),
            page AS (
                SELECT kind, at, id, worker_id, person_id, summary, detail, restricted,
                       to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at_key
                FROM entries
                WHERE \(after?.key)::text IS NULL OR (at, id) < (\(after?.key)::text::timestamptz, \(after?.id))
                ORDER BY at DESC, id DESC
                LIMIT \(limit + 1)
            ),
            read AS (
                INSERT INTO audit_events (organisation_id, worker_id, family_id, action, entity, break_glass)
                SELECT \(org), \(principal.workerId), \(familyId), 'read', 'timeline',
                       CASE WHEN EXISTS (SELECT 1 FROM (SELECT restricted FROM page ORDER BY at DESC, id DESC LIMIT \(limit)) shown
                                         WHERE shown.restricted)
                            THEN \(access.needsBreakGlass(.read, restricted: true)) ELSE \(access.needsBreakGlass(.read)) END
            )
            SELECT kind, at, id, worker_id, person_id, summary, detail, at_key FROM page ORDER BY at DESC, id DESC
            """, logger: logger)
        var items: [(Components.Schemas.TimelineEntry, String)] = []
        for row in rows {
            let (kind, at, id, worker, person, summary, detail, atKey) = try row.decode(
                (String, Date, UUID, UUID?, UUID?, String?, String?, String).self)
            items.append((.init(
                kind: .init(rawValue: kind) ?? .contact, at: at, id: id.text, workerId: worker?.text, personId: person?.text,
                summary: summary, detail: detail), atKey))
        }
        var next: String?
        if items.count > limit {
            items.removeLast()
            next = items.last.map { KeysetPosition.after(key: $0.1, id: $0.0.id) }
        }
        return Components.Schemas.TimelinePage(items: items.map(\.0), next: next)
    }
}

/// A page of a family's timeline and its audit event.
enum TimelineRead: HotStatement {}
