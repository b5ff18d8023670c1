import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// The family plan belongs to named people in the network: each item says who does what. Plans are versioned
/// (a change is a new version) and progress is appended, in the family's and the worker's words.
extension KithService {
    func listPlans(_ input: Operations.ListPlans.Input) async throws -> Operations.ListPlans.Output {
        let conferenceId = try UUID(path: input.path.conferenceId)
        let plans = try await records { records in
            let access = try await records.conferenceAccess(conferenceId, for: .read)
            try await records.audit(.read, "plans", recordId: conferenceId, access: access)
            return try await records.plans(of: [access.familyId], conferenceId: conferenceId)
        }
        return .ok(.init(body: .json(.init(items: plans))))
    }

    func createPlan(_ input: Operations.CreatePlan.Input) async throws -> Operations.CreatePlan.Output {
        let body = switch input.body { case .json(let body): body }
        let draft = try NewPlan(conferenceId: try UUID(path: input.path.conferenceId), body)
        let plan = try await records { records in
            let access = try await records.conferenceAccess(draft.conferenceId, for: .write)
            return try await records.save(draft, access: access)
        }
        return .created(.init(body: .json(plan)))
    }

    func addPlanItemUpdate(_ input: Operations.AddPlanItemUpdate.Input) async throws -> Operations.AddPlanItemUpdate.Output {
        let body = switch input.body { case .json(let body): body }
        let draft = try NewPlanItemUpdate(planItemId: try UUID(path: input.path.planItemId), body)
        let update = try await records { records in
            let familyId = try await records.familyOf(.planItems, id: draft.planItemId)
            let access = try await records.access(familyId, for: .write)
            return try await records.save(draft, access: access)
        }
        return .created(.init(body: .json(update)))
    }
}
