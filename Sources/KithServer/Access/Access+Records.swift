import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

extension Records {
    /// Recorded, with its reason in the family's audit feed; it lasts `lifetime`.
    func openBreakGlass(access: FamilyAccess, reason: String, for lifetime: Duration) async throws -> Components.Schemas.BreakGlassGrant {
        let id = UUID()
        let openedAt = Date()
        let expiresAt = openedAt.addingTimeInterval(TimeInterval(lifetime.components.seconds))
        try await connection.query(
            """
            INSERT INTO break_glass_grants (organisation_id, id, family_id, worker_id, reason, opened_at, expires_at)
            VALUES (\(principal.organisationId), \(id), \(access.familyId), \(principal.workerId), \(reason), \(openedAt), \(expiresAt))
            """, logger: logger)
        try await audit(.breakGlass, "family", recordId: access.familyId, access: access, reason: reason)
        return .init(id: id.text, familyId: access.familyId.text, reason: reason, openedAt: openedAt, expiresAt: expiresAt)
    }

    func auditPage(_ feed: AuditFeed, before: Int64?, limit: Int) async throws -> Components.Schemas.AuditPage {
        let events = try await auditEvents(feed, before: before, limit: limit + 1)
        let next = events.count > limit ? events[limit - 1].id : nil
        return .init(items: Array(events.prefix(limit)), next: next.map { PageCursor([$0]).encoded })
    }

    /// Newest first; `before` is the id of the last event a client saw.
    func auditEvents(_ feed: AuditFeed, before: Int64? = nil, limit: Int? = nil) async throws -> [Components.Schemas.AuditEvent] {
        let family: UUID? = if case .family(let id) = feed { id } else { nil }
        let teams: [UUID]? = if case .organisation(let teams) = feed { teams } else { nil }
        let rows = try await connection.query(
            """
            SELECT e.id, e.at, e.worker_id, w.name, e.person_id, p.name, e.action, e.entity, e.record_id, e.reason,
                   e.break_glass, e.team_id
            FROM audit_events e
            LEFT JOIN workers w ON w.organisation_id = e.organisation_id AND w.id = e.worker_id
            LEFT JOIN people p ON p.organisation_id = e.organisation_id AND p.id = e.person_id
            WHERE e.organisation_id = \(principal.organisationId)
              AND (\(family)::uuid IS NULL AND e.family_id IS NULL OR e.family_id = \(family))
              AND (\(teams == nil) OR e.team_id = ANY(\(teams ?? [])))
              AND (\(before)::bigint IS NULL OR e.id < \(before))
            ORDER BY e.id DESC
            LIMIT \(limit)
            """, logger: logger)
        var events: [Components.Schemas.AuditEvent] = []
        for try await (id, at, worker, workerName, person, personName, action, entity, record, reason, breakGlass, team) in rows.decode(
            (Int64, Date, UUID?, String?, UUID?, String?, String, String?, UUID?, String?, Bool, UUID?).self)
        {
            events.append(.init(
                id: String(id), at: at, workerId: worker?.text, workerName: workerName, personId: person?.text, personName: personName,
                action: .init(rawValue: action) ?? .read,
                entity: entity, recordId: record?.text, teamId: team?.text, reason: reason, breakGlass: breakGlass))
        }
        return events
    }
}
