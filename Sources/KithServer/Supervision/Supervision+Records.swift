import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

extension Records {
    /// A session with a worker this supervisor oversees, in one team they share (`teamId`, needed only when they
    /// share more than one), about families of that team.
    func recordSupervision(
        of workerId: UUID, in teamId: UUID?, heldOn: CalendarDay, familyIds: [UUID], notes: String
    ) async throws -> Components.Schemas.SupervisionSession {
        let id = UUID()
        try await requireOversight(of: workerId)
        var shared: [UUID] = []
        for try await team in try await query(
            """
            SELECT team_id FROM team_members
            WHERE organisation_id = \(principal.organisationId) AND worker_id = \(workerId) AND team_id = ANY(\(principal.teamIds))
            ORDER BY team_id
            """).decode(UUID.self) { shared.append(team) }
        let team: UUID
        if let teamId {
            guard shared.contains(teamId) else { throw KithError.invalidField("teamId", "is not a team you supervise this worker in") }
            team = teamId
        } else {
            guard shared.count == 1 else {
                throw KithError.invalidField("teamId", "must name the team: you supervise this worker in more than one")
            }
            team = shared[0]
        }
        let discussed = try await query(
            """
            SELECT count(*) FROM families
            WHERE organisation_id = \(principal.organisationId) AND id = ANY(\(familyIds)) AND team_id = \(team)
            """).decode(Int.self).first { _ in true } ?? 0
        guard discussed == familyIds.count else {
            throw KithError.invalidField("familyIds", "names a family outside the session's team")
        }
        let createdAt = try await query(
            """
            INSERT INTO supervision_sessions (organisation_id, id, supervisor_id, worker_id, held_on, notes, team_id)
            VALUES (\(principal.organisationId), \(id), \(principal.workerId), \(workerId), \(heldOn.description)::date, \(notes), \(team))
            RETURNING created_at
            """).decode(Date.self).first { _ in true } ?? Date()
        try await query(
            """
            INSERT INTO supervision_session_families (organisation_id, session_id, family_id)
            SELECT \(principal.organisationId), \(id), family FROM unnest(\(familyIds)::uuid[]) AS family
            """)
        try await audit(.write, "supervisionSession", recordId: id, familyIds: familyIds)
        return Components.Schemas.SupervisionSession(
            teamId: team.text, id: id.text, supervisorId: principal.workerId.text, workerId: workerId.text,
            heldOn: heldOn.description, familyIds: familyIds.map(\.text).sorted(), notes: notes, createdAt: createdAt)
    }

    /// A worker's sessions, newest first: all of them for the worker; for a supervisor, those of the teams they
    /// supervise the worker in (and one they wrote that has no team). Administrators do not read reflective notes.
    func supervisionSessions(of workerId: UUID) async throws -> [Components.Schemas.SupervisionSession] {
        try await requireOversight(of: workerId)
        var sessions: [Components.Schemas.SupervisionSession] = []
        for try await (id, supervisor, heldOn, notes, createdAt, team, families) in try await query(
            """
            SELECT s.id, s.supervisor_id, s.held_on::text, s.notes, s.created_at, s.team_id,
                   coalesce((SELECT array_agg(f.family_id ORDER BY f.family_id) FROM supervision_session_families f
                              WHERE f.organisation_id = s.organisation_id AND f.session_id = s.id), '{}')
            FROM supervision_sessions s
            WHERE s.organisation_id = \(principal.organisationId) AND s.worker_id = \(workerId)
              AND (s.worker_id = \(principal.workerId) OR s.team_id = ANY(\(principal.teamIds))
                   OR (s.team_id IS NULL AND s.supervisor_id = \(principal.workerId)))
            ORDER BY s.held_on DESC, s.created_at DESC
            """).decode((UUID, UUID, String, String, Date, UUID?, [UUID]).self) {
            sessions.append(.init(
                teamId: team?.text, id: id.text, supervisorId: supervisor.text, workerId: workerId.text, heldOn: heldOn,
                familyIds: families.map(\.text), notes: notes, createdAt: createdAt))
        }
        let discussed = Array(Set(sessions.flatMap(\.familyIds).compactMap(UUID.init(uuidString:))))
        try await audit(.read, "supervisionSession", familyIds: discussed)
        return sessions
    }
}
