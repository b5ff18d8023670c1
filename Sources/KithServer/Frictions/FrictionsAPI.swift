import Foundation
import KithAPI
import KithCore

/// What got in the way: any worker tells it (here, or from a device as `friction.create`), the supervisors of its team
/// answer it, and administrators and supervisors count it across the organisation. Each handler reaches the database in
/// one transaction of `records`.
extension KithService {
    func createFriction(_ input: Operations.CreateFriction.Input) async throws -> Operations.CreateFriction.Output {
        _ = try Principal.required()
        let body = switch input.body { case .json(let body): body }
        let friction = try NewFriction(body)
        let created = try await records { records in
            try await records.save(friction, origin: .online)
            return try await records.frictions(.one(friction.id))[0]
        }
        return .created(.init(body: .json(created)))
    }

    func listFrictions(_ input: Operations.ListFrictions.Input) async throws -> Operations.ListFrictions.Output {
        let principal = try Principal.required()
        var check = Validation()
        let teamId = check.uuid("teamId", input.query.teamId)
        try check.orThrow()
        if let teamId, !principal.supervises(team: teamId) {
            throw KithError.forbidden("A team's frictions are for its supervisors.")
        }
        let frictions = try await records { records in
            try await records.listedFrictions(teamId.map { .team($0) } ?? .mine, status: input.query.status)
        }
        return .ok(.init(body: .json(.init(items: frictions))))
    }

    func getFriction(_ input: Operations.GetFriction.Input) async throws -> Operations.GetFriction.Output {
        let id = try UUID(path: input.path.frictionId)
        return .ok(.init(body: .json(try await records { try await $0.friction(id) })))
    }

    func recordFrictionEvent(_ input: Operations.RecordFrictionEvent.Input) async throws -> Operations.RecordFrictionEvent.Output {
        let body = switch input.body { case .json(let body): body }
        let event = try FrictionEventDraft(frictionId: try UUID(path: input.path.frictionId), body)
        return .created(.init(body: .json(try await records { try await $0.save(event) })))
    }

    func getFrictionSummary(_ input: Operations.GetFrictionSummary.Input) async throws -> Operations.GetFrictionSummary.Output {
        let principal = try Principal.required()
        guard principal.oversees else {
            throw KithError.forbidden("The organisation's frictions are counted for administrators and supervisors.")
        }
        var check = Validation()
        let days = check.days(from: input.query.from, to: input.query.to, lastDays: 90)
        try check.orThrow()
        let summary = try await records { try await $0.frictionSummary(from: days.lowerBound, to: days.upperBound) }
        return .ok(.init(body: .json(summary)))
    }
}
