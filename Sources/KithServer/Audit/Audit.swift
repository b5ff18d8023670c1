import Foundation
import Logging
import PostgresNIO

/// Every read and write of a family's record leaves an audit event: who, when, which family, what, and whether
/// the access came through break-glass. Writes record theirs in the same transaction as the write.
enum AuditAction: String {
    case read, write, export, breakGlass
}

extension PostgresConnection {
    func audit(
        _ action: AuditAction, _ entity: String, recordId: UUID? = nil, access: FamilyAccess,
        principal: Principal, reason: String? = nil, logger: Logger
    ) async throws {
        try await audit(
            action, entity, recordId: recordId, familyIds: [access.familyId],
            breakGlass: access.onlyThroughBreakGlass || action == .breakGlass, principal: principal, reason: reason, logger: logger)
    }

    /// One event for each family, written in one statement (a team's figures touch every family of the team).
    func audit(
        _ action: AuditAction, _ entity: String, recordId: UUID? = nil, familyIds: [UUID], breakGlass: Bool = false,
        principal: Principal, reason: String? = nil, logger: Logger
    ) async throws {
        try await query(
            """
            INSERT INTO audit_events (organisation_id, worker_id, family_id, action, entity, record_id, reason, break_glass)
            SELECT \(principal.organisationId), \(principal.workerId), family, \(action.rawValue), \(entity),
                   \(recordId)::uuid, \(reason), \(breakGlass)
            FROM unnest(\(familyIds)::uuid[]) AS family
            """, logger: logger)
    }

    /// A decision about work that belongs to no family yet (a quarantined push, a rejected mutation).
    func auditWithoutFamily(
        _ action: AuditAction, _ entity: String, recordId: UUID, principal: Principal, reason: String, logger: Logger
    ) async throws {
        try await query(
            """
            INSERT INTO audit_events (organisation_id, worker_id, action, entity, record_id, reason)
            VALUES (\(principal.organisationId), \(principal.workerId), \(action.rawValue), \(entity), \(recordId), \(reason))
            """, logger: logger)
    }
}
