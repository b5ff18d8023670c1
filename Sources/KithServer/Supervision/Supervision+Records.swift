import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

extension Records {
    /// A session with a worker this supervisor oversees, about families of the supervisor's own teams.
    func recordSupervision(
        of workerId: UUID, heldOn: CalendarDay, familyIds: [UUID], notes: String
    ) async throws -> Components.Schemas.SupervisionSession {
        let id = UUID()
        try await requireOversight(of: workerId)
        let supervised = try await connection.query(
            """
            SELECT count(*) FROM families
            WHERE organisation_id = \(principal.organisationId) AND id = ANY(\(familyIds)) AND team_id = ANY(\(principal.teamIds))
            """, logger: logger
        ).decode(Int.self).first { _ in true } ?? 0
        guard supervised == familyIds.count else {
            throw KithError.invalidField("familyIds", "names a family outside your teams")
        }
        let createdAt = try await connection.query(
            """
            INSERT INTO supervision_sessions (organisation_id, id, supervisor_id, worker_id, held_on, notes)
            VALUES (\(principal.organisationId), \(id), \(principal.workerId), \(workerId), \(heldOn.description)::date, \(notes))
            RETURNING created_at
            """, logger: logger
        ).decode(Date.self).first { _ in true } ?? Date()
        try await connection.query(
            """
            INSERT INTO supervision_session_families (organisation_id, session_id, family_id)
            SELECT \(principal.organisationId), \(id), family FROM unnest(\(familyIds)::uuid[]) AS family
            """, logger: logger)
        try await audit(.write, "supervisionSession", recordId: id, familyIds: familyIds)
        return Components.Schemas.SupervisionSession(
            id: id.text, supervisorId: principal.workerId.text, workerId: workerId.text, heldOn: heldOn.description,
            familyIds: familyIds.map(\.text).sorted(), notes: notes, createdAt: createdAt)
    }

    /// A worker's sessions, newest first: for the worker and the supervisors of their teams (administrators do not
    /// read reflective notes).
    func supervisionSessions(of workerId: UUID) async throws -> [Components.Schemas.SupervisionSession] {
        try await requireOversight(of: workerId)
        var sessions: [Components.Schemas.SupervisionSession] = []
        for try await (id, supervisor, heldOn, notes, createdAt, families) in try await connection.query(
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
        try await audit(.read, "supervisionSession", familyIds: discussed)
        return sessions
    }
}
