import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// Continuity measures with the team's signals beside them: prompts for supervision, computed on request, never
/// stored as a status and never blocking anything.
extension KithService {
    func getFamilyContinuity(_ input: Operations.GetFamilyContinuity.Input) async throws -> Operations.GetFamilyContinuity.Output {
        let principal = try Principal.required()
        let familyId = try UUID(path: input.path.familyId)
        let asOf = try CalendarDay.asOf(input.query.asOf)
        let continuity = try await readFamily(familyId, "continuity", recordId: familyId) { records, access in
            let settings = try await records.signalSettings(team: access.teamId)
            guard let measures = try await records.familyMeasures(
                [familyId], asOf: asOf, organisation: principal.organisationId).first
            else { throw KithError.notFound }
            return measures.response(asOf: asOf, settings: settings)
        }
        return .ok(.init(body: .json(continuity)))
    }

    /// For the worker themselves and the supervisors of their teams.
    func getWorkerContinuity(_ input: Operations.GetWorkerContinuity.Input) async throws -> Operations.GetWorkerContinuity.Output {
        let workerId = try UUID(path: input.path.workerId)
        let asOf = try CalendarDay.asOf(input.query.asOf)
        let continuity = try await records { try await $0.workerContinuity(of: workerId, asOf: asOf) }
        return .ok(.init(body: .json(continuity)))
    }

    /// For the team's supervisors: the team's figures and every open family's measures, riskiest relationships first.
    func getTeamContinuity(_ input: Operations.GetTeamContinuity.Input) async throws -> Operations.GetTeamContinuity.Output {
        let principal = try Principal.required()
        let teamId = try UUID(path: input.path.teamId)
        let asOf = try CalendarDay.asOf(input.query.asOf)
        guard principal.supervises(team: teamId) else { throw KithError.notFound }
        let continuity = try await records { try await $0.teamContinuity(of: teamId, asOf: asOf) }
        return .ok(.init(body: .json(continuity)))
    }

    /// Team members read their team's thresholds; the team's supervisors change them.
    func getSignalSettings(_ input: Operations.GetSignalSettings.Input) async throws -> Operations.GetSignalSettings.Output {
        let principal = try Principal.required()
        let teamId = try UUID(path: input.path.teamId)
        guard principal.teamIds.contains(teamId) || principal.has(.admin) else { throw KithError.notFound }
        let settings = try await records { try await $0.signalSettings(team: teamId) }
        return .ok(.init(body: .json(.init(settings))))
    }

    func putSignalSettings(_ input: Operations.PutSignalSettings.Input) async throws -> Operations.PutSignalSettings.Output {
        let principal = try Principal.required()
        let teamId = try UUID(path: input.path.teamId)
        let body = switch input.body { case .json(let body): body }
        guard principal.teamIds.contains(teamId) || principal.has(.admin) else { throw KithError.notFound }
        guard principal.supervises(team: teamId) else { throw KithError.forbidden("Only the team's supervisors change its signal settings.") }
        var check = Validation()
        check.range("noContactDays", body.noContactDays, 1...3650)
        check.range("childNotSeenDays", body.childNotSeenDays, 1...3650)
        check.range("planReviewOverdueDays", body.planReviewOverdueDays, 0...3650)
        check.range("workerChanges365", body.workerChanges365, 1...100)
        try check.orThrow()
        try await records { try await $0.setSignalSettings(of: teamId, body) }
        return .ok(.init(body: .json(body)))
    }
}

extension Components.Schemas.SignalSettings {
    init(_ settings: SignalSettings) {
        self.init(
            noContactDays: settings.noContactDays, childNotSeenDays: settings.childNotSeenDays,
            planReviewOverdueDays: settings.planReviewOverdueDays, workerChanges365: settings.workerChanges365)
    }
}
