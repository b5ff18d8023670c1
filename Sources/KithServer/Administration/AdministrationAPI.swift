import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// Teams and workers: managed by administrators; names and roles are visible to everyone in the organisation
/// (so a supervisor can allocate and a practitioner can record who was on a joint visit).
extension KithService {
    func listTeams(_ input: Operations.ListTeams.Input) async throws -> Operations.ListTeams.Output {
        let teams = try await records { try await $0.teams(ids: nil) }
        return .ok(.init(body: .json(.init(items: teams))))
    }

    func createTeam(_ input: Operations.CreateTeam.Input) async throws -> Operations.CreateTeam.Output {
        try Principal.required().require(.admin, "administrators")
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        check.requiredText("name", body.name, max: 500)
        try check.orThrow()
        let id = UUID()
        try await records { records in
            try await records.connection.query(
                "INSERT INTO teams (organisation_id, id, name) VALUES (\(records.principal.organisationId), \(id), \(body.name))",
                logger: logger)
            try await records.auditAdministration("team", recordId: id, teamIds: [id], reason: "team created")
        }
        return .created(.init(body: .json(.init(id: id.text, name: body.name))))
    }

    func listWorkers(_ input: Operations.ListWorkers.Input) async throws -> Operations.ListWorkers.Output {
        let workers = try await records { try await $0.workers() }
        return .ok(.init(body: .json(.init(items: workers))))
    }

    func createWorker(_ input: Operations.CreateWorker.Input) async throws -> Operations.CreateWorker.Output {
        try Principal.required().require(.admin, "administrators")
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        check.requiredText("name", body.name, max: 500)
        check.text("email", body.email, min: 3, max: 320)
        if !body.email.contains("@") { check.add("email", "must be an email address") }
        check.text("password", body.password, min: 12, max: 200)
        if body.roles.isEmpty { check.add("roles", "must name at least one role") }
        let teamIds = check.uuids("teamIds", body.teamIds, max: 50)
        try check.orThrow()

        let hash = try await Passwords.hash(body.password)
        let id = UUID()
        let roles = Set(body.roles.map(\.rawValue)).sorted()
        let worker = try await records { records in
            try await records.connection.query(
                """
                INSERT INTO workers (organisation_id, id, name, email, password_hash, roles)
                VALUES (\(records.principal.organisationId), \(id), \(body.name), \(body.email.trimmingWhitespace()), \(hash),
                        \(roles))
                """, logger: logger)
            try await records.setTeams(of: id, to: teamIds)
            try await records.auditAdministration(
                "worker", recordId: id, teamIds: teamIds, reason: "worker created with roles \(roles.joined(separator: ", "))")
            return try await records.worker(id)
        }
        return .created(.init(body: .json(worker)))
    }

    /// Roles, teams and leaving dates. An administrator may not change their own roles or teams (another one can), so
    /// no one grants themselves a supervisor's reach into case records.
    func updateWorker(_ input: Operations.UpdateWorker.Input) async throws -> Operations.UpdateWorker.Output {
        let principal = try Principal.required()
        try principal.require(.admin, "administrators")
        let workerId = try UUID(path: input.path.workerId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        if let roles = body.roles, roles.isEmpty { check.add("roles", "must name at least one role") }
        let teamIds = body.teamIds.map { check.uuids("teamIds", $0, max: 50) }
        let leftOn = check.day("leftOn", body.leftOn)
        try check.orThrow()
        if workerId == principal.workerId, body.roles != nil || body.teamIds != nil {
            throw KithError.forbidden("Another administrator changes your own roles and teams.")
        }

        let worker = try await records { records in
            let roles = body.roles.map { Set($0.map(\.rawValue)).sorted() }
            let before = try await records.worker(workerId)
            try await records.connection.query(
                """
                UPDATE workers SET roles = coalesce(\(roles), roles),
                                   left_on = coalesce(\(leftOn?.description)::date, left_on)
                WHERE organisation_id = \(principal.organisationId) AND id = \(workerId)
                """, logger: logger)
            if let teamIds {
                try await records.setTeams(of: workerId, to: teamIds)
            }
            // From the leaving date on, sign-in and every token stop working anyway; on or after it, end them now.
            if let leftOn, leftOn <= .today {
                // A worker who leaves loses every session and device at once. Device sessions stay on record so that
                // the devices hear `device_revoked` and keep their unsent work for quarantine.
                try await records.connection.query(
                    """
                    UPDATE sessions SET revoked_at = now()
                    WHERE organisation_id = \(principal.organisationId) AND worker_id = \(workerId) AND revoked_at IS NULL
                      AND device_id IS NULL
                    """, logger: logger)
                try await records.connection.query(
                    """
                    UPDATE devices SET revoked_at = now()
                    WHERE organisation_id = \(principal.organisationId) AND worker_id = \(workerId) AND revoked_at IS NULL
                    """, logger: logger)
            }
            var changes: [String] = []
            if let roles { changes.append("roles \(before.roles.map(\.rawValue).joined(separator: ", ")) → \(roles.joined(separator: ", "))") }
            if let teamIds { changes.append("teams \(before.teamIds.joined(separator: ", ")) → \(teamIds.map(\.text).joined(separator: ", "))") }
            if let leftOn { changes.append("leaving date \(leftOn)") }
            let teams = Set(before.teamIds.compactMap(UUID.init(uuidString:)) + (teamIds ?? []))
            try await records.auditAdministration(
                "worker", recordId: workerId, teamIds: teams.sorted { $0.text < $1.text },
                reason: changes.isEmpty ? "no change" : changes.joined(separator: "; "))
            return try await records.worker(workerId)
        }
        return .ok(.init(body: .json(worker)))
    }
}
