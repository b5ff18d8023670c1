import Foundation
import KithCore
import Logging
import PostgresNIO

/// How the caller relates to one family, established for every request that touches its record.
///
/// Access follows relationships: a current allocation, supervising the family's team, or open break-glass
/// access. Without one, the family answers exactly like a family that does not exist.
struct FamilyAccess: Sendable {
    let familyId: UUID
    let teamId: UUID
    let allocationRole: AllocationRole?
    let supervisesTeam: Bool
    let breakGlass: Bool

    /// Restricted notes: the allocated worker, the team's supervisors, and break-glass.
    var seesRestricted: Bool { allocationRole == .allocatedWorker || supervisesTeam || breakGlass }

    /// The access came through break-glass alone, which the audit trail marks.
    var onlyThroughBreakGlass: Bool { allocationRole == nil && !supervisesTeam && breakGlass }
}

extension PostgresConnection {
    func familyAccess(_ familyId: UUID, for principal: Principal, logger: Logger) async throws -> FamilyAccess {
        guard let access = try await familyAccessIfAny(familyId, for: principal, logger: logger) else { throw KithError.notFound }
        return access
    }

    /// The caller's access to the family, or nil when they have none (or there is no such family).
    func familyAccessIfAny(_ familyId: UUID, for principal: Principal, logger: Logger) async throws -> FamilyAccess? {
        guard let (teamId, role, breakGlass) = try await familyRelationship(familyId, for: principal, logger: logger) else {
            return nil
        }
        let access = FamilyAccess(
            familyId: familyId, teamId: teamId, allocationRole: role,
            supervisesTeam: principal.supervises(team: teamId), breakGlass: breakGlass)
        return access.allocationRole != nil || access.supervisesTeam || access.breakGlass ? access : nil
    }

    /// The family's team, the caller's current allocation role (allocated worker first) and open break-glass.
    func familyRelationship(
        _ familyId: UUID, for principal: Principal, logger: Logger
    ) async throws -> (UUID, AllocationRole?, Bool)? {
        let rows = try await query(
            """
            SELECT f.team_id,
                   (SELECT a.role FROM current_allocations a
                     WHERE a.organisation_id = f.organisation_id AND a.family_id = f.id
                       AND a.worker_id = \(principal.workerId)
                     ORDER BY a.role = 'allocatedWorker' DESC LIMIT 1),
                   EXISTS (SELECT 1 FROM break_glass_grants g
                            WHERE g.organisation_id = f.organisation_id AND g.family_id = f.id
                              AND g.worker_id = \(principal.workerId) AND g.expires_at > now())
            FROM families f
            WHERE f.organisation_id = \(principal.organisationId) AND f.id = \(familyId)
            """, logger: logger)
        for try await (team, role, breakGlass) in rows.decode((UUID, String?, Bool).self) {
            return (team, role.flatMap(AllocationRole.init(rawValue:)), breakGlass)
        }
        return nil
    }

    /// The family a record belongs to, for operations addressed by the record's own id.
    func familyOf(_ table: RecordTable, id: UUID, principal: Principal, logger: Logger) async throws -> UUID {
        let rows = try await query(
            "SELECT family_id FROM \(unescaped: table.rawValue) WHERE organisation_id = \(principal.organisationId) AND id = \(id)",
            logger: logger)
        for try await familyId in rows.decode(UUID.self) { return familyId }
        throw KithError.notFound
    }
}

/// Tables whose rows are addressed by id in a path and belong to one family.
enum RecordTable: String {
    case people, allocations, notes, conferences, planItems = "plan_items"
}
