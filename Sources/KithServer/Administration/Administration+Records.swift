import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

extension Records {
    func worker(_ id: UUID) async throws -> Components.Schemas.Worker {
        guard let worker = try await workers(only: id).first else { throw KithError.notFound }
        return worker
    }

    /// The organisation's workers, or just one of them.
    func workers(only id: UUID? = nil) async throws -> [Components.Schemas.Worker] {
        let rows = try await connection.query(
            """
            SELECT w.id, w.name, w.email, w.roles, w.left_on::text,
                   coalesce(array_agg(tm.team_id ORDER BY tm.team_id) FILTER (WHERE tm.team_id IS NOT NULL), '{}')
            FROM workers w
            LEFT JOIN team_members tm ON tm.organisation_id = w.organisation_id AND tm.worker_id = w.id
            WHERE w.organisation_id = \(principal.organisationId) AND (\(id)::uuid IS NULL OR w.id = \(id))
            GROUP BY w.id, w.name, w.email, w.roles, w.left_on
            ORDER BY w.name, w.id
            """, logger: logger)
        var workers: [Components.Schemas.Worker] = []
        for try await (id, name, email, roles, leftOn, teams) in rows.decode((UUID, String, String, [String], String?, [UUID]).self) {
            workers.append(.init(
                id: id.text, name: name, email: email, roles: roles.compactMap(Components.Schemas.Role.init(rawValue:)),
                teamIds: teams.map(\.text), leftOn: leftOn))
        }
        return workers
    }

    func teams(ids: [UUID]?) async throws -> [Components.Schemas.Team] {
        let rows = try await connection.query(
            """
            SELECT id, name FROM teams
            WHERE organisation_id = \(principal.organisationId) AND (\(ids == nil) OR id = ANY(\(ids ?? [])))
            ORDER BY name, id
            """, logger: logger)
        var teams: [Components.Schemas.Team] = []
        for try await (id, name) in rows.decode((UUID, String).self) { teams.append(.init(id: id.text, name: name)) }
        return teams
    }

    func setTeams(of worker: UUID, to teamIds: [UUID]) async throws {
        let known = try await connection.query(
            "SELECT count(*) FROM teams WHERE organisation_id = \(principal.organisationId) AND id = ANY(\(teamIds))", logger: logger
        ).decode(Int.self).first { _ in true } ?? 0
        guard known == Set(teamIds).count else { throw KithError.invalidField("teamIds", "names a team that does not exist") }
        try await connection.query(
            "DELETE FROM team_members WHERE organisation_id = \(principal.organisationId) AND worker_id = \(worker)", logger: logger)
        try await connection.query(
            """
            INSERT INTO team_members (organisation_id, team_id, worker_id)
            SELECT \(principal.organisationId), t, \(worker) FROM unnest(\(Array(Set(teamIds)))::uuid[]) AS t
            """, logger: logger)
    }
}
