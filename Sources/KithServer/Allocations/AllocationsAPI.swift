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
            try await records.allocations(of: [familyId])
        }
        return .ok(.init(body: .json(.init(items: allocations))))
    }

    func createAllocation(_ input: Operations.CreateAllocation.Input) async throws -> Operations.CreateAllocation.Output {
        let familyId = try UUID(path: input.path.familyId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        let id = check.uuid("id", body.id) ?? UUID()
        let workerId = check.uuid("workerId", body.workerId)
        let startedOn = check.day("startedOn", body.startedOn)
        try check.orThrow()

        let allocation = try await records { records in
            try await records.allocate(
                id, access: try await records.access(familyId, for: .allocate), worker: workerId!, role: body.role, from: startedOn!)
        }
        return .created(.init(body: .json(allocation)))
    }

    func endAllocation(_ input: Operations.EndAllocation.Input) async throws -> Operations.EndAllocation.Output {
        let id = try UUID(path: input.path.allocationId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        let endedOn = check.day("endedOn", body.endedOn)
        check.requiredText("reason", body.reason, max: 500)
        check.text("handoverNote", body.handoverNote, max: 65_536)
        check.text("letterToFamily", body.letterToFamily, max: 8_000)
        try check.orThrow()

        let allocation = try await records { records in
            try await records.end(
                allocation: id, access: try await records.access(.allocations, id, for: .allocate), on: endedOn!, reason: body.reason,
                handoverNote: body.handoverNote.nilIfBlank, letterToFamily: body.letterToFamily.nilIfBlank, jointHandoverVisit: body.jointHandoverVisit)
        }
        return .ok(.init(body: .json(allocation)))
    }

    func writeHandover(_ input: Operations.WriteHandover.Input) async throws -> Operations.WriteHandover.Output {
        let id = try UUID(path: input.path.allocationId)
        let body = switch input.body { case .json(let body): body }
        let handover = try NewHandover(allocationId: id, body)
        let allocation = try await records { records in
            try await records.save(handover, access: try await records.access(.allocations, id, for: .write))
            return try await records.allocation(id)
        }
        return .created(.init(body: .json(allocation)))
    }

    func listHandoverVersions(_ input: Operations.ListHandoverVersions.Input) async throws -> Operations.ListHandoverVersions.Output {
        let id = try UUID(path: input.path.allocationId)
        let versions = try await records { records in
            let access = try await records.access(.allocations, id, for: .read)
            let versions = try await records.handoverVersions(in: access.familyId, of: id)
            try await records.audit(.read, "handover", recordId: id, access: access)
            return versions
        }
        return .ok(.init(body: .json(.init(items: versions))))
    }

    func reallocateFamily(_ input: Operations.ReallocateFamily.Input) async throws -> Operations.ReallocateFamily.Output {
        let familyId = try UUID(path: input.path.familyId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        let toWorker = check.uuid("toWorkerId", body.toWorkerId)
        let from = check.uuid("fromAllocationId", body.fromAllocationId)
        let on = body.on.map { check.day("on", $0) } ?? .today
        check.requiredText("reason", body.reason, max: 500)
        check.text("handoverNote", body.handoverNote, max: 65_536)
        check.text("letterToFamily", body.letterToFamily, max: 8_000)
        try check.orThrow()
        let role = body.role ?? .allocatedWorker

        let (ended, started) = try await records { records in
            let access = try await records.access(familyId, for: .allocate)
            let outgoing = try await records.currentAllocation(of: familyId, role: role, chosen: from)
            let ended = try await records.end(
                allocation: outgoing, access: access, on: on!, reason: body.reason, handoverNote: body.handoverNote.nilIfBlank,
                letterToFamily: body.letterToFamily.nilIfBlank, jointHandoverVisit: nil)
            let started = try await records.allocate(UUID(), access: access, worker: toWorker!, role: role, from: on!)
            return (ended, started)
        }
        return .created(.init(body: .json(.init(ended: ended, started: started))))
    }
}
