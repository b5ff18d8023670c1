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
        let team = try await records { try await $0.createTeam(named: body.name) }
        return .created(.init(body: .json(team)))
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
        check.newPassword("password", body.password)
        check.roles(body.roles)
        let teamIds = check.uuids("teamIds", body.teamIds, max: 50)
        try check.orThrow()

        let hash = try await Passwords.hash(body.password)
        let worker = try await records {
            try await $0.createWorker(
                name: body.name, email: body.email.trimmingWhitespace(), passwordHash: hash,
                roles: Set(body.roles.map(\.rawValue)).sorted(), teamIds: teamIds)
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
        if let roles = body.roles { check.roles(roles) }
        let teamIds = body.teamIds.map { check.uuids("teamIds", $0, max: 50) }
        let leftOn = check.day("leftOn", body.leftOn)
        if let subject = body.ssoSubject, !subject.isEmpty {
            check.matches("ssoSubject", subject, Validation.visible(max: 255), "up to 255 characters, no spaces")
        }
        try check.orThrow()
        if workerId == principal.workerId, body.roles != nil || body.teamIds != nil {
            throw KithError.forbidden("Another administrator changes your own roles and teams.")
        }

        let worker = try await records {
            try await $0.updateWorker(
                workerId, roles: body.roles.map { Set($0.map(\.rawValue)).sorted() }, teamIds: teamIds, leftOn: leftOn,
                ssoSubject: body.ssoSubject)
        }
        return .ok(.init(body: .json(worker)))
    }

    /// A one-time link for a worker to set their own password; an administrator's, never for themselves.
    func createPasswordReset(_ input: Operations.CreatePasswordReset.Input) async throws -> Operations.CreatePasswordReset.Output {
        let principal = try Principal.required()
        try principal.require(.admin, "administrators")
        let workerId = try UUID(path: input.path.workerId)
        guard workerId != principal.workerId else {
            throw KithError.forbidden("Change your own password with POST /v1/me/password.")
        }
        let (link, expiresAt) = try await records {
            try await $0.createPasswordReset(for: workerId, lifetime: FamilyPage.passwordResetLifetime)
        }
        let url = config.publicBase.appendingPathComponent("password-reset").appendingPathComponent(link).absoluteString
        return .created(.init(body: .json(.init(url: url, expiresAt: expiresAt))))
    }
}

extension Validation {
    /// A worker's roles: at least one, and no more than there are (the document's `maxItems`).
    mutating func roles(_ roles: [Components.Schemas.Role]) {
        if roles.isEmpty { add("roles", "must name at least one role") }
        count("roles", roles.count, max: Components.Schemas.Role.allCases.count)
    }
}
