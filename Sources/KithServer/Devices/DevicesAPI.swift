import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// Field devices and terminal clients: each registered device gets a token of its own, bound to it, and its status is
/// checked on every request, so revoking a lost tablet takes effect on its next request (403 `device_revoked`).
extension KithService {
    static let deviceTokenLifetime: TimeInterval = 30 * 86_400

    /// With a worker's own sign-in token; the device then uses its own token.
    func registerDevice(_ input: Operations.RegisterDevice.Input) async throws -> Operations.RegisterDevice.Output {
        let principal = try Principal.required()
        let body = switch input.body { case .json(let body): body }
        guard principal.deviceId == nil else {
            throw KithError.forbidden("Register a device with your own sign-in, not with another device's token.")
        }
        var check = Validation()
        check.requiredText("name", body.name, max: 500)
        check.text("platform", body.platform, max: 100)
        check.text("clientVersion", body.clientVersion, max: 100)
        try check.orThrow()

        let deviceId = UUID()
        let token = Tokens.generate()
        try await records { records in
            try await records.connection.query(
                """
                INSERT INTO devices (organisation_id, id, worker_id, name, platform, client_version)
                VALUES (\(principal.organisationId), \(deviceId), \(principal.workerId), \(body.name), \(body.platform), \(body.clientVersion))
                """, logger: logger)
            try await records.connection.query(
                """
                INSERT INTO sessions (organisation_id, id, worker_id, device_id, token_hash, expires_at)
                VALUES (\(principal.organisationId), \(UUID()), \(principal.workerId), \(deviceId), \(Tokens.hash(token)),
                        \(Date().addingTimeInterval(Self.deviceTokenLifetime)))
                """, logger: logger)
            try await records.auditAdministration(
                "device", recordId: deviceId, teamIds: principal.teamIds, reason: "device registered")
        }
        logger.info("device registered", metadata: ["worker": .string(principal.workerId.text), "device": .string(deviceId.text)])
        return .created(.init(body: .json(.init(deviceId: deviceId.text, token: token))))
    }

    /// My devices; a supervisor also sees the devices of their teams' workers.
    func listDevices(_ input: Operations.ListDevices.Input) async throws -> Operations.ListDevices.Output {
        let principal = try Principal.required()
        let teams = principal.has(.supervisor) ? principal.teamIds : []
        let devices = try await records { records in
            try await records.devices(
                """
                WHERE d.organisation_id = \(principal.organisationId)
                  AND (d.worker_id = \(principal.workerId) OR d.worker_id IN (
                       SELECT worker_id FROM team_members WHERE organisation_id = \(principal.organisationId) AND team_id = ANY(\(teams))))
                ORDER BY d.registered_at, d.id
                """)
        }
        return .ok(.init(body: .json(.init(items: devices))))
    }

    /// By the device's worker, a supervisor of one of their teams, or an administrator.
    func revokeDevice(_ input: Operations.RevokeDevice.Input) async throws -> Operations.RevokeDevice.Output {
        let principal = try Principal.required()
        let deviceId = try UUID(path: input.path.deviceId)
        let device = try await records { records in
            guard let device = try await records.devices(
                "WHERE d.organisation_id = \(principal.organisationId) AND d.id = \(deviceId)").first,
                let owner = UUID(uuidString: device.workerId)
            else { throw KithError.notFound }
            // A lost tablet is also an administrator's to revoke; revoking shows nothing of any record.
            if owner != principal.workerId, !principal.has(.admin) {
                try await records.requireOversight(of: owner)
            }
            try await records.connection.query(
                """
                UPDATE devices SET revoked_at = coalesce(revoked_at, now())
                WHERE organisation_id = \(principal.organisationId) AND id = \(deviceId)
                """, logger: logger)
            let ownerTeams = try await records.worker(owner).teamIds.compactMap(UUID.init(uuidString:))
            try await records.auditAdministration("device", recordId: deviceId, teamIds: ownerTeams, reason: "device revoked")
            return try await records.devices(
                "WHERE d.organisation_id = \(principal.organisationId) AND d.id = \(deviceId)")[0]
        }
        logger.notice("device revoked", metadata: ["device": .string(deviceId.text), "by": .string(principal.workerId.text)])
        return .ok(.init(body: .json(device)))
    }
}
