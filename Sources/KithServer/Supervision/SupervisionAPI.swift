import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// Reflective supervision: a supervisor records a session with one of their team's workers, naming the families
/// discussed. A session belongs to the team it was recorded in: it is readable by that worker and the supervisors of
/// that team (not of the worker's other teams), and audited against each family discussed.
extension KithService {
    func createSupervisionSession(_ input: Operations.CreateSupervisionSession.Input) async throws -> Operations.CreateSupervisionSession.Output {
        let principal = try Principal.required()
        let body = switch input.body { case .json(let body): body }
        try principal.require(.supervisor, "supervisors")
        var check = Validation()
        let workerId = check.uuid("workerId", body.workerId)
        let heldOn = check.day("heldOn", body.heldOn)
        let familyIds = Array(Set(check.uuids("familyIds", body.familyIds, max: 200)))
        let teamId = check.uuid("teamId", body.teamId)
        check.text("notes", body.notes, max: 65_536)
        try check.orThrow()

        let session = try await records {
            try await $0.recordSupervision(of: workerId!, in: teamId, heldOn: heldOn!, familyIds: familyIds, notes: body.notes)
        }
        return .created(.init(body: .json(session)))
    }

    func listSupervisionSessions(_ input: Operations.ListSupervisionSessions.Input) async throws -> Operations.ListSupervisionSessions.Output {
        guard let workerId = UUID(uuidString: input.query.workerId) else { throw KithError.invalidField("workerId", "must be a UUID") }
        let sessions = try await records { try await $0.supervisionSessions(of: workerId) }
        return .ok(.init(body: .json(.init(items: sessions))))
    }
}
