import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// Reflective supervision: a supervisor records a session with one of their team's workers, naming the families
/// discussed. Sessions are readable by that worker and the supervisors of their teams, and audited against each
/// family discussed.
extension KithService {
    func createSupervisionSession(_ input: Operations.CreateSupervisionSession.Input) async throws -> Operations.CreateSupervisionSession.Output {
        let principal = try Principal.required()
        let body = switch input.body { case .json(let body): body }
        try principal.require(.supervisor, "supervisors")
        var check = Validation()
        let workerId = check.uuid("workerId", body.workerId)
        let heldOn = check.day("heldOn", body.heldOn)
        let familyIds = Array(Set(check.uuids("familyIds", body.familyIds, max: 200)))
        check.text("notes", body.notes, max: 65_536)
        try check.orThrow()

        let id = UUID()
        let session = try await records { records in
            try await records.requireOversight(of: workerId!)
            let supervised = try await records.connection.query(
                """
                SELECT count(*) FROM families
                WHERE organisation_id = \(principal.organisationId) AND id = ANY(\(familyIds)) AND team_id = ANY(\(principal.teamIds))
                """, logger: logger
            ).decode(Int.self).first { _ in true } ?? 0
            guard supervised == familyIds.count else {
                throw KithError.invalidField("familyIds", "names a family outside your teams")
            }
            let createdAt = try await records.connection.query(
                """
                INSERT INTO supervision_sessions (organisation_id, id, supervisor_id, worker_id, held_on, notes)
                VALUES (\(principal.organisationId), \(id), \(principal.workerId), \(workerId!), \(heldOn!.description)::date, \(body.notes))
                RETURNING created_at
                """, logger: logger
            ).decode(Date.self).first { _ in true } ?? Date()
            try await records.connection.query(
                """
                INSERT INTO supervision_session_families (organisation_id, session_id, family_id)
                SELECT \(principal.organisationId), \(id), family FROM unnest(\(familyIds)::uuid[]) AS family
                """, logger: logger)
            try await records.audit(.write, "supervisionSession", recordId: id, familyIds: familyIds)
            return Components.Schemas.SupervisionSession(
                id: id.text, supervisorId: principal.workerId.text, workerId: workerId!.text, heldOn: heldOn!.description,
                familyIds: familyIds.map(\.text).sorted(), notes: body.notes, createdAt: createdAt)
        }
        return .created(.init(body: .json(session)))
    }

    func listSupervisionSessions(_ input: Operations.ListSupervisionSessions.Input) async throws -> Operations.ListSupervisionSessions.Output {
        let principal = try Principal.required()
        guard let workerId = UUID(uuidString: input.query.workerId) else { throw KithError.invalidField("workerId", "must be a UUID") }
        let sessions = try await records { records in
            // Administrators oversee workers' figures but do not read reflective notes.
            guard workerId == principal.workerId || principal.has(.supervisor) else { throw KithError.notFound }
            try await records.requireOversight(of: workerId)
            var sessions: [Components.Schemas.SupervisionSession] = []
            for try await (id, supervisor, heldOn, notes, createdAt, families) in try await records.connection.query(
                """
                SELECT s.id, s.supervisor_id, s.held_on::text, s.notes, s.created_at,
                       coalesce((SELECT array_agg(f.family_id ORDER BY f.family_id) FROM supervision_session_families f
                                  WHERE f.organisation_id = s.organisation_id AND f.session_id = s.id), '{}')
                FROM supervision_sessions s
                WHERE s.organisation_id = \(principal.organisationId) AND s.worker_id = \(workerId)
                ORDER BY s.held_on DESC, s.created_at DESC
                """, logger: logger
            ).decode((UUID, UUID, String, String, Date, [UUID]).self) {
                sessions.append(.init(
                    id: id.text, supervisorId: supervisor.text, workerId: workerId.text, heldOn: heldOn,
                    familyIds: families.map(\.text), notes: notes, createdAt: createdAt))
            }
            let discussed = Array(Set(sessions.flatMap(\.familyIds).compactMap(UUID.init(uuidString:))))
            try await records.audit(.read, "supervisionSession", familyIds: discussed)
            return sessions
        }
        return .ok(.init(body: .json(.init(items: sessions))))
    }
}
