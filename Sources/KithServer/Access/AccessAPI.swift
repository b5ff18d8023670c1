import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// Break-glass: a worker outside the relationship opens a family's record with a stated reason. It is allowed,
/// time-boxed, audited, and visible in the family's audit feed to its allocated worker and supervisors.
extension KithService {
    func openBreakGlassAccess(_ input: Operations.OpenBreakGlassAccess.Input) async throws -> Operations.OpenBreakGlassAccess.Output {
        let principal = try Principal.required()
        let familyId = try UUID(path: input.path.familyId)
        let body = switch input.body { case .json(let body): body }
        guard !principal.isAdminOnly else {
            throw KithError.forbidden("Administrators manage the organisation and do not open case records.")
        }
        var check = Validation()
        check.requiredText("reason", body.reason, max: 2000)
        if body.reason.trimmingWhitespace().count < 10 { check.add("reason", "must say why, in at least 10 characters") }
        try check.orThrow()

        let id = UUID()
        let openedAt = Date()
        let expiresAt = openedAt.addingTimeInterval(TimeInterval(config.breakGlassLifetime.components.seconds))
        try await records { records in
            guard let (teamId, role, _) = try await records.connection.familyRelationship(familyId, for: principal, logger: logger) else {
                throw KithError.notFound
            }
            try await records.connection.query(
                """
                INSERT INTO break_glass_grants (organisation_id, id, family_id, worker_id, reason, opened_at, expires_at)
                VALUES (\(principal.organisationId), \(id), \(familyId), \(principal.workerId), \(body.reason), \(openedAt), \(expiresAt))
                """, logger: logger)
            let access = FamilyAccess(
                familyId: familyId, teamId: teamId, allocationRole: role, supervisesTeam: principal.supervises(team: teamId),
                breakGlass: true)
            try await records.audit(.breakGlass, "family", recordId: familyId, access: access, reason: body.reason)
        }
        logger.notice("break-glass access opened", metadata: ["worker": .string(principal.workerId.text), "family": .string(familyId.text)])
        return .created(.init(body: .json(.init(
            id: id.text, familyId: familyId.text, reason: body.reason, openedAt: openedAt, expiresAt: expiresAt))))
    }

    /// "Who viewed my family's record": the allocated worker, the team's supervisors and administrators.
    func getFamilyAudit(_ input: Operations.GetFamilyAudit.Input) async throws -> Operations.GetFamilyAudit.Output {
        let principal = try Principal.required()
        let familyId = try UUID(path: input.path.familyId)
        let limit = try PageSize.resolve(input.query.limit)
        var afterId: Int64?
        if let cursor = input.query.after {
            guard let keys = PageCursor(encoded: cursor, count: 1)?.keys, let id = Int64(keys[0]) else {
                throw KithError.invalidField("after", "is not a cursor from this list")
            }
            afterId = id
        }

        let page = try await records { records in
            guard let (teamId, role, breakGlass) = try await records.connection.familyRelationship(familyId, for: principal, logger: logger) else {
                throw KithError.notFound
            }
            guard role == .allocatedWorker || principal.supervises(team: teamId) || principal.has(.admin) else {
                if role != nil || breakGlass { throw KithError.forbidden("The audit trail is for the allocated worker, supervisors and administrators.") }
                throw KithError.notFound
            }
            let events = try await records.connection.auditEvents(familyId: familyId, before: afterId, limit: limit + 1, principal: principal, logger: logger)
            let next = events.count > limit ? events[limit - 1].id : nil
            return Components.Schemas.AuditPage(items: Array(events.prefix(limit)), next: next.map { PageCursor([$0]).encoded })
        }
        return .ok(.init(body: .json(page)))
    }
}

extension PostgresConnection {
    /// Newest first; `before` is the id of the last event a client saw.
    func auditEvents(familyId: UUID, before: Int64? = nil, limit: Int? = nil, principal: Principal, logger: Logger) async throws -> [Components.Schemas.AuditEvent] {
        let rows = try await query(
            """
            SELECT e.id, e.at, e.worker_id, w.name, e.action, e.entity, e.record_id, e.reason, e.break_glass
            FROM audit_events e
            JOIN workers w ON w.organisation_id = e.organisation_id AND w.id = e.worker_id
            WHERE e.organisation_id = \(principal.organisationId) AND e.family_id = \(familyId)
              AND (\(before)::bigint IS NULL OR e.id < \(before))
            ORDER BY e.id DESC
            LIMIT \(limit)
            """, logger: logger)
        var events: [Components.Schemas.AuditEvent] = []
        for try await (id, at, worker, name, action, entity, record, reason, breakGlass) in rows.decode(
            (Int64, Date, UUID, String, String, String?, UUID?, String?, Bool).self)
        {
            events.append(.init(
                id: String(id), at: at, workerId: worker.text, workerName: name, action: .init(rawValue: action) ?? .read,
                entity: entity, recordId: record?.text, reason: reason, breakGlass: breakGlass))
        }
        return events
    }
}
