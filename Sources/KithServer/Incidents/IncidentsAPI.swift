import Foundation
import KithAPI
import KithCore

/// Data incidents: a note written for the family and shown on their page, then withdrawn or refiled, opened as it
/// happens (`Records.openIncident`) for the family's supervisors to decide on within 72 hours. Each handler reaches the
/// database in one transaction of `records`.
extension KithService {
    func listIncidents(_ input: Operations.ListIncidents.Input) async throws -> Operations.ListIncidents.Output {
        let principal = try Principal.required()
        guard principal.oversees else {
            throw KithError.forbidden("Only the families' supervisors and administrators see data incidents.")
        }
        let incidents = try await records { try await $0.incidents() }
        return .ok(.init(body: .json(.init(items: incidents))))
    }

    func decideIncident(_ input: Operations.DecideIncident.Input) async throws -> Operations.DecideIncident.Output {
        let incidentId = try UUID(path: input.path.incidentId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        check.requiredText("reason", body.reason, max: 2000)
        try check.orThrow()
        let incident = try await records { records in
            try await records.decide(incidentId, reportedToRegulator: body.reportedToRegulator, reason: body.reason)
            return try await records.incidents(only: incidentId)[0]
        }
        return .created(.init(body: .json(incident)))
    }
}
