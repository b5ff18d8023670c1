import Foundation
import KithAPI
import KithCore

/// The family's verdict, as workers read it: a team's answers counted for its supervisors, and the named answers about
/// a worker's own work for them. Families answer on their page (`FamilyPage`). Each handler reaches the database in one
/// transaction of `records`.
extension KithService {
    func getTeamFeedback(_ input: Operations.GetTeamFeedback.Input) async throws -> Operations.GetTeamFeedback.Output {
        let principal = try Principal.required()
        let teamId = try UUID(path: input.path.teamId)
        guard principal.supervises(team: teamId) else { throw KithError.forbidden("What families said of a team's work is for its supervisors.") }
        var check = Validation()
        let days = check.days(from: input.query.from, to: input.query.to, lastDays: 365)
        try check.orThrow()
        return .ok(.init(body: .json(try await records { try await $0.teamFeedback(teamId, days: days) })))
    }

    func listMyFeedback(_ input: Operations.ListMyFeedback.Input) async throws -> Operations.ListMyFeedback.Output {
        .ok(.init(body: .json(.init(items: try await records { try await $0.namedFeedback(.mine) }))))
    }
}
