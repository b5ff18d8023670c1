import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// Worker–family relationships over time. Reallocation is ending one allocation (with a handover note for the
/// incoming worker) and starting another; continuity is measured from these rows, never typed in.
extension KithService {
    func listAllocations(_ input: Operations.ListAllocations.Input) async throws -> Operations.ListAllocations.Output {
        let principal = try Principal.required()
        let familyId = try UUID(path: input.path.familyId)
        let allocations = try await readFamily(familyId, "allocations") { records, _ in
            try await records.connection.allocations(familyId: familyId, principal: principal, logger: logger)
        }
        return .ok(.init(body: .json(.init(items: allocations))))
    }

    func createAllocation(_ input: Operations.CreateAllocation.Input) async throws -> Operations.CreateAllocation.Output {
        let principal = try Principal.required()
        let familyId = try UUID(path: input.path.familyId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        let id = check.uuid("id", body.id) ?? UUID()
        let workerId = check.uuid("workerId", body.workerId)
        let startedOn = check.day("startedOn", body.startedOn)
        try check.orThrow()

        let allocation = try await records { records in
            let access = try await records.access(familyId, for: .allocate)
            let activeWorker = try await records.connection.query(
                """
                SELECT count(*) FROM workers WHERE organisation_id = \(principal.organisationId) AND id = \(workerId!)
                  AND (left_on IS NULL OR left_on > \(startedOn!.description)::date)
                """, logger: logger
            ).decode(Int.self).first { _ in true } ?? 0
            guard activeWorker == 1 else { throw KithError.invalidField("workerId", "is not a current worker of this organisation") }
            try await records.connection.insertNew(
                """
                INSERT INTO allocations (organisation_id, id, family_id, worker_id, role, started_on, created_by)
                VALUES (\(principal.organisationId), \(id), \(familyId), \(workerId!), \(body.role.rawValue),
                        \(startedOn!.description)::date, \(principal.workerId))
                """, record: "allocation", alsoUnique: "an open allocation of this worker in this role", logger: logger)
            try await records.audit(.write, "allocation", recordId: id, access: access)
            return try await records.connection.allocation(id, principal: principal, logger: logger)
        }
        return .created(.init(body: .json(allocation)))
    }

    func endAllocation(_ input: Operations.EndAllocation.Input) async throws -> Operations.EndAllocation.Output {
        let principal = try Principal.required()
        let id = try UUID(path: input.path.allocationId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        let endedOn = check.day("endedOn", body.endedOn)
        check.requiredText("reason", body.reason, max: 500)
        check.text("handoverNote", body.handoverNote, max: 65_536)
        try check.orThrow()

        let allocation = try await records { records in
            let familyId = try await records.familyOf(.allocations, id: id)
            let access = try await records.access(familyId, for: .allocate)
            let ended = try await records.connection.query(
                """
                UPDATE allocations SET ended_on = \(endedOn!.description)::date, end_reason = \(body.reason),
                       handover_note = \(body.handoverNote.nilIfBlank), joint_handover_visit = \(body.jointHandoverVisit),
                       ended_by = \(principal.workerId)
                WHERE organisation_id = \(principal.organisationId) AND id = \(id) AND ended_on IS NULL
                  AND started_on <= \(endedOn!.description)::date
                RETURNING id
                """, logger: logger
            ).decode(UUID.self).first { _ in true }
            guard ended != nil else {
                let current = try await records.connection.allocation(id, principal: principal, logger: logger)
                if current.endedOn != nil { throw KithError.conflict("already_ended", "This allocation has already ended.") }
                throw KithError.invalidField("endedOn", "must not be before the allocation started (\(current.startedOn))")
            }
            try await records.audit(.write, "allocation", recordId: id, access: access)
            return try await records.connection.allocation(id, principal: principal, logger: logger)
        }
        return .ok(.init(body: .json(allocation)))
    }
}

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

extension PostgresConnection {
    /// Every allocation of a family, current and ended, oldest first.
    func allocations(familyId: UUID, principal: Principal, logger: Logger) async throws -> [Components.Schemas.Allocation] {
        try await AllocationRow.decode(try await query(
            """
            SELECT \(unescaped: AllocationRow.columns) FROM allocations a
            WHERE a.organisation_id = \(principal.organisationId) AND a.family_id = \(familyId)
            ORDER BY a.started_on, a.created_at
            """, logger: logger))
    }

    func allocation(_ id: UUID, principal: Principal, logger: Logger) async throws -> Components.Schemas.Allocation {
        guard let allocation = try await AllocationRow.decode(try await query(
            "SELECT \(unescaped: AllocationRow.columns) FROM allocations a WHERE a.organisation_id = \(principal.organisationId) AND a.id = \(id)",
            logger: logger)).first
        else { throw KithError.notFound }
        return allocation
    }

    /// Allocating is for the family's team supervisors and for administrators (who read no case content but
    /// manage who works with whom). Others who can see the family are told they may not; the rest get 404.
    func allocatingAccess(_ familyId: UUID, principal: Principal, logger: Logger) async throws -> FamilyAccess {
        guard let (teamId, role, breakGlass) = try await familyRelationship(familyId, for: principal, logger: logger) else {
            throw KithError.notFound
        }
        let access = FamilyAccess(
            familyId: familyId, teamId: teamId, allocationRole: role, supervisesTeam: principal.supervises(team: teamId),
            breakGlass: breakGlass)
        if access.supervisesTeam || principal.has(.admin) { return access }
        if role != nil || breakGlass { throw KithError.forbidden("Only the team's supervisors and administrators allocate workers.") }
        throw KithError.notFound
    }
}
