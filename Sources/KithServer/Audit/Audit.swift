import Foundation
import Logging
import PostgresNIO

/// Every read and write of a family's record leaves an audit event: who, when, which family, what, and whether
/// the access came through break-glass. Writes record theirs in the same transaction as the write. Administrative
/// changes are `administer` events in the organisation's feed (`Records.auditAdministration`).
enum AuditAction: String {
    case read, write, export, breakGlass, administer
}

extension PostgresConnection {
    /// One event for each family, written in one statement.
    func audit(
        _ action: AuditAction, _ entity: String, recordId: UUID? = nil, familyIds: [UUID], breakGlass: Bool = false,
        principal: Principal, reason: String? = nil, logger: Logger
    ) async throws {
        _ = try await query(
            AuditWrite.self,
            """
            INSERT INTO audit_events (organisation_id, worker_id, family_id, action, entity, record_id, reason, break_glass)
            SELECT \(principal.organisationId), \(principal.workerId), family, \(action.rawValue), \(entity),
                   \(recordId)::uuid, \(reason), \(breakGlass)
            FROM unnest(\(familyIds)::uuid[]) AS family
            """, logger: logger)
    }
}

/// Audit events of reads and writes of families' records.
enum AuditWrite: HotStatement {}
