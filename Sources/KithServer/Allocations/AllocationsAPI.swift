import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// Worker–family relationships over time. Reallocation is ending one allocation (with a handover note for the
/// incoming worker) and starting another; continuity is measured from these rows, never typed in.
extension KithService {
    func listAllocations(_ input: Operations.ListAllocations.Input) async throws -> Operations.ListAllocations.Output {
        let familyId = try UUID(path: input.path.familyId)
        let allocations = try await readFamily(familyId, "allocations") { records, _ in
            try await records.allocations(familyId: familyId)
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
            let roles = try await records.connection.query(
                """
                SELECT roles FROM workers WHERE organisation_id = \(principal.organisationId) AND id = \(workerId!)
                  AND (left_on IS NULL OR left_on > \(startedOn!.description)::date)
                """, logger: logger
            ).decode([String].self).first { _ in true }
            guard let roles else { throw KithError.invalidField("workerId", "is not a current worker of this organisation") }
            // An administrator's account manages the organisation; it never works with a family, so it reads none.
            guard roles != [Role.admin.rawValue] else {
                throw KithError.invalidField("workerId", "is an administrator's account, which is not allocated to families")
            }
            if workerId == principal.workerId, principal.has(.admin) {
                throw KithError.forbidden("An administrator does not allocate themselves; another supervisor does.")
            }
            try await records.connection.insertNew(
                """
                INSERT INTO allocations (organisation_id, id, family_id, worker_id, role, started_on, created_by)
                VALUES (\(principal.organisationId), \(id), \(familyId), \(workerId!), \(body.role.rawValue),
                        \(startedOn!.description)::date, \(principal.workerId))
                """, record: "allocation", alsoUnique: "an open allocation of this worker in this role", logger: logger)
            try await records.audit(.write, "allocation", recordId: id, access: access)
            return try await records.allocation(id)
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
                let current = try await records.allocation(id)
                if current.endedOn != nil { throw KithError.conflict("already_ended", "This allocation has already ended.") }
                throw KithError.invalidField("endedOn", "must not be before the allocation started (\(current.startedOn))")
            }
            try await records.audit(.write, "allocation", recordId: id, access: access)
            return try await records.allocation(id)
        }
        return .ok(.init(body: .json(allocation)))
    }
}
