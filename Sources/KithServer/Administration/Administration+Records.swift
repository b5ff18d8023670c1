import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

extension Records {
    func createTeam(named name: String) async throws -> Components.Schemas.Team {
        let id = UUID()
        try await query(
            "INSERT INTO teams (organisation_id, id, name) VALUES (\(principal.organisationId), \(id), \(name))")
        try await auditAdministration("team", recordId: id, teamIds: [id], reason: "team created")
        return .init(id: id.text, name: name)
    }

    func createWorker(
        name: String, email: String, passwordHash: String, roles: [String], teamIds: [UUID]
    ) async throws -> Components.Schemas.Worker {
        let id = UUID()
        try await query(
            """
            INSERT INTO workers (organisation_id, id, name, email, password_hash, roles)
            VALUES (\(principal.organisationId), \(id), \(name), \(email), \(passwordHash), \(roles))
            """)
        try await setTeams(of: id, to: teamIds)
        try await auditAdministration(
            "worker", recordId: id, teamIds: teamIds, reason: "worker created with roles \(roles.joined(separator: ", "))")
        let created = try await worker(id)
        try await noticeCaseAccess(given: created, rolesBefore: [], teamsBefore: [])
        return created
    }

    /// Roles that read case content (an administrator's does not).
    static let caseRoles: Set<String> = ["supervisor", "coordinator", "practitioner"]

    /// Every grant of case access is seen by the people it concerns: for each team of `worker` in which they now hold a
    /// role that reads case content they did not hold there before, a review item for the team's supervisors naming
    /// the worker, the roles and who granted them.
    func noticeCaseAccess(given worker: Components.Schemas.Worker, rolesBefore: Set<String>, teamsBefore: Set<UUID>) async throws {
        let held = Set(worker.roles.map(\.rawValue)).intersection(Self.caseRoles)
        guard !held.isEmpty, let workerId = UUID(uuidString: worker.id) else { return }
        let grantor = try await self.worker(principal.workerId).name
        for team in worker.teamIds.compactMap(UUID.init(uuidString:)) {
            let gained = teamsBefore.contains(team) ? held.subtracting(rolesBefore) : held
            guard !gained.isEmpty else { continue }
            struct Granted: Encodable { let workerId: String; let roles: [String]; let grantedBy: String }
            let payload = try KithJSON.text(Granted(workerId: workerId.text, roles: gained.sorted(), grantedBy: principal.workerId.text))
            try await addReviewItem(
                .accessGranted, familyId: nil, teamId: team, deviceId: nil, mutationId: nil,
                summary: "\(worker.name) can now read this team's families as \(gained.sorted().joined(separator: ", ")), "
                    + "granted by \(grantor)",
                reason: nil, payload: payload, recipients: [])
        }
    }

    /// Roles, teams and a leaving date, each only when given; the audit event says what changed from what.
    /// `ssoSubject` links the worker to a person at the identity provider; empty, it unlinks them.
    func updateWorker(
        _ workerId: UUID, roles: [String]?, teamIds: [UUID]?, leftOn: CalendarDay?, ssoSubject: String?
    ) async throws -> Components.Schemas.Worker {
        let before = try await worker(workerId)
        try await query(
            """
            UPDATE workers SET roles = coalesce(\(roles), roles), left_on = coalesce(\(leftOn?.description)::date, left_on),
                               sso_subject = CASE WHEN \(ssoSubject)::text IS NULL THEN sso_subject ELSE nullif(\(ssoSubject), '') END,
                               changed_at = now()
            WHERE organisation_id = \(principal.organisationId) AND id = \(workerId)
            """)
        if let teamIds {
            try await setTeams(of: workerId, to: teamIds)
        }
        let after = try await worker(workerId)
        try await noticeCaseAccess(
            given: after, rolesBefore: Set(before.roles.map(\.rawValue)),
            teamsBefore: Set(before.teamIds.compactMap(UUID.init(uuidString:))))
        // From the leaving date on, sign-in and every token stop working anyway; on or after it, end them now.
        if let leftOn, leftOn <= .today {
            try await connection.endSessionsAndDevices(of: workerId, organisation: principal.organisationId, logger: logger)
        }
        var changes: [String] = []
        if let roles { changes.append("roles \(before.roles.map(\.rawValue).joined(separator: ", ")) → \(roles.joined(separator: ", "))") }
        if let teamIds { changes.append("teams \(before.teamIds.joined(separator: ", ")) → \(teamIds.map(\.text).joined(separator: ", "))") }
        if let leftOn { changes.append("leaving date \(leftOn)") }
        if let ssoSubject { changes.append(ssoSubject.isEmpty ? "unlinked from the identity provider" : "linked to the identity provider") }
        let teams = Set(before.teamIds.compactMap(UUID.init(uuidString:)) + (teamIds ?? []))
        try await auditAdministration(
            "worker", recordId: workerId, teamIds: teams.sorted { $0.text < $1.text },
            reason: changes.isEmpty ? "no change" : changes.joined(separator: "; "))
        return after
    }

    func worker(_ id: UUID) async throws -> Components.Schemas.Worker {
        guard let worker = try await workers(only: id).first else { throw KithError.notFound }
        return worker
    }

    /// The organisation's workers, or just one of them.
    func workers(only id: UUID? = nil) async throws -> [Components.Schemas.Worker] {
        let rows = try await query(
            """
            SELECT w.id, w.name, w.email, w.roles, w.left_on::text, w.sso_subject,
                   coalesce(array_agg(tm.team_id ORDER BY tm.team_id) FILTER (WHERE tm.team_id IS NOT NULL), '{}')
            FROM workers w
            LEFT JOIN team_members tm ON tm.organisation_id = w.organisation_id AND tm.worker_id = w.id
            WHERE w.organisation_id = \(principal.organisationId) AND (\(id)::uuid IS NULL OR w.id = \(id))
            GROUP BY w.id, w.name, w.email, w.roles, w.left_on, w.sso_subject
            ORDER BY w.name, w.id
            """)
        var workers: [Components.Schemas.Worker] = []
        for try await (id, name, email, roles, leftOn, subject, teams) in rows.decode((UUID, String, String, [String], String?, String?, [UUID]).self) {
            workers.append(.init(
                id: id.text, name: name, email: email, roles: roles.compactMap(Components.Schemas.Role.init(rawValue:)),
                teamIds: teams.map(\.text), leftOn: leftOn, ssoSubject: subject))
        }
        return workers
    }

    func teams(ids: [UUID]?) async throws -> [Components.Schemas.Team] {
        let rows = try await query(
            """
            SELECT id, name FROM teams
            WHERE organisation_id = \(principal.organisationId) AND (\(ids == nil) OR id = ANY(\(ids ?? [])))
            ORDER BY name, id
            """)
        var teams: [Components.Schemas.Team] = []
        for try await (id, name) in rows.decode((UUID, String).self) { teams.append(.init(id: id.text, name: name)) }
        return teams
    }

    func setTeams(of worker: UUID, to teamIds: [UUID]) async throws {
        let known = try await query(
            "SELECT count(*) FROM teams WHERE organisation_id = \(principal.organisationId) AND id = ANY(\(teamIds))").decode(Int.self).first { _ in true } ?? 0
        guard known == Set(teamIds).count else { throw KithError.invalidField("teamIds", "names a team that does not exist") }
        try await query(
            "DELETE FROM team_members WHERE organisation_id = \(principal.organisationId) AND worker_id = \(worker)")
        try await query(
            """
            INSERT INTO team_members (organisation_id, team_id, worker_id)
            SELECT \(principal.organisationId), t, \(worker) FROM unnest(\(Array(Set(teamIds)))::uuid[]) AS t
            """)
    }
}

extension PostgresConnection {
    /// A worker who leaves loses every session and device at once, whoever says they left (an administrator's leaving
    /// date, or the identity provider switching them off). Device sessions stay on record so that the devices hear
    /// `device_revoked` and keep their unsent work for quarantine.
    func endSessionsAndDevices(of worker: UUID, organisation: UUID, logger: Logger) async throws {
        try await query(
            """
            UPDATE sessions SET revoked_at = now()
            WHERE organisation_id = \(organisation) AND worker_id = \(worker) AND revoked_at IS NULL AND device_id IS NULL
            """, logger: logger)
        try await query(
            """
            UPDATE devices SET revoked_at = now()
            WHERE organisation_id = \(organisation) AND worker_id = \(worker) AND revoked_at IS NULL
            """, logger: logger)
    }
}
