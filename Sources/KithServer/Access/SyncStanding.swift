import Foundation
import KithAPI
import PostgresNIO

/// A device's standing in a family for the writes it pushes, beside `AccessPolicy`: it holds the family now, or held it
/// under a grant that has since ended (late work is taken for `lateWriteWindow`, later edits are proposed), or neither.
extension Records {
    /// How long after the worker's allocation ended their device's late notes and contacts are still taken.
    static let lateWriteWindow: TimeInterval = 30 * 86_400

    enum Standing {
        case holds(FamilyAccess)
        case endedGrant(teamId: UUID, endedAt: Date)
        case none
    }

    /// Written by someone else since the device's worker stopped working with the family.
    func noteWritten(_ noteId: UUID, after moment: Date) async throws -> Bool {
        try await query(
            """
            SELECT created_at >= \(moment) AND author_id <> \(principal.workerId)
            FROM notes WHERE organisation_id = \(principal.organisationId) AND id = \(noteId)
            """).decode(Bool.self).first { _ in true } ?? false
    }

    /// The device's standing in a family under a grant, asked once per push.
    func standing(
        in familyId: UUID, grantId: String?, device: SyncDevice, cached standings: inout [String: Standing]
    ) async throws -> Standing {
        let key = "\(familyId.text) \(grantId ?? "")"
        if let known = standings[key] { return known }
        let standing = try await standing(in: familyId, grantId: grantId, device: device)
        standings[key] = standing
        return standing
    }

    /// Whether the device's worker may write to the family now, or held it under a grant that has since ended.
    func standing(in familyId: UUID, grantId: String?, device: SyncDevice) async throws -> Standing {
        if let access = try await accessIfAny(familyId) {
            return .holds(access)
        }
        guard let grantId, let grant = UUID(uuidString: grantId) else { return .none }
        // When the worker's allocation ended (the grant only ends when the server next hears from the device).
        let ended = try await query(
            """
            SELECT f.team_id,
                   coalesce((SELECT max(a.ended_on)::timestamptz FROM allocations a
                              WHERE a.organisation_id = g.organisation_id AND a.family_id = g.family_id
                                AND a.worker_id = \(device.workerId) AND a.ended_on IS NOT NULL), g.ended_at)
            FROM device_grants g
            JOIN families f ON f.organisation_id = g.organisation_id AND f.id = g.family_id
            WHERE g.organisation_id = \(device.organisationId) AND g.id = \(grant) AND g.device_id = \(device.id)
              AND g.family_id = \(familyId) AND g.ended_at IS NOT NULL
            """).decode((UUID, Date).self).first { _ in true }
        return ended.map { .endedGrant(teamId: $0.0, endedAt: $0.1) } ?? .none
    }

    func currentWorkers(of familyId: UUID) async throws -> [UUID] {
        try await query(
            """
            SELECT DISTINCT worker_id FROM current_allocations
            WHERE organisation_id = \(principal.organisationId) AND family_id = \(familyId)
            """).collect().map { try $0.decode(UUID.self) }
    }
}
