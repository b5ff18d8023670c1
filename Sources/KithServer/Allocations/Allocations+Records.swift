import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

enum AllocationRow {
    static let columns = """
        a.id, a.family_id, a.worker_id, a.role, a.started_on::text, a.ended_on::text, a.end_reason, a.handover_note,
        a.joint_handover_visit
        """

    static func decode(_ rows: PostgresRowSequence) async throws -> [Components.Schemas.Allocation] {
        var allocations: [Components.Schemas.Allocation] = []
        for try await (id, family, worker, role, startedOn, endedOn, reason, note, joint) in rows.decode(
            (UUID, UUID, UUID, String, String, String?, String?, String?, Bool?).self)
        {
            allocations.append(.init(
                id: id.text, familyId: family.text, workerId: worker.text, role: .init(rawValue: role) ?? .allocatedWorker,
                startedOn: startedOn, endedOn: endedOn, endReason: reason, handoverNote: note, jointHandoverVisit: joint))
        }
        return allocations
    }
}

extension Records {
    /// Every allocation of a family, current and ended, oldest first.
    func allocations(familyId: UUID) async throws -> [Components.Schemas.Allocation] {
        try await AllocationRow.decode(try await connection.query(
            """
            SELECT \(unescaped: AllocationRow.columns) FROM allocations a
            WHERE a.organisation_id = \(principal.organisationId) AND a.family_id = \(familyId)
            ORDER BY a.started_on, a.created_at
            """, logger: logger))
    }

    func allocation(_ id: UUID) async throws -> Components.Schemas.Allocation {
        guard let allocation = try await AllocationRow.decode(try await connection.query(
            "SELECT \(unescaped: AllocationRow.columns) FROM allocations a WHERE a.organisation_id = \(principal.organisationId) AND a.id = \(id)",
            logger: logger)).first
        else { throw KithError.notFound }
        return allocation
    }

}
