import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

extension Records {
    /// The caller's own new device, with the session its token opens, registered by the caller's session (signing it
    /// out revokes the device: `endSession`).
    func registerDevice(
        name: String, platform: String, clientVersion: String, tokenHash: Data, expiresAt: Date
    ) async throws -> UUID {
        let deviceId = UUID()
        try await query(
            """
            INSERT INTO devices (organisation_id, id, worker_id, name, platform, client_version)
            VALUES (\(principal.organisationId), \(deviceId), \(principal.workerId), \(name), \(platform), \(clientVersion))
            """)
        try await query(
            """
            INSERT INTO sessions (organisation_id, id, worker_id, device_id, token_hash, expires_at, registered_by)
            VALUES (\(principal.organisationId), \(UUID()), \(principal.workerId), \(deviceId), \(tokenHash), \(expiresAt),
                    \(principal.sessionId))
            """)
        try await auditAdministration("device", recordId: deviceId, teamIds: principal.teamIds, reason: "device registered")
        return deviceId
    }

    /// My devices; a supervisor also sees the devices of their teams' workers.
    func visibleDevices() async throws -> [Components.Schemas.Device] {
        let teams = principal.has(.supervisor) ? principal.teamIds : []
        return try await devices(
            """
            WHERE d.organisation_id = \(principal.organisationId)
              AND (d.worker_id = \(principal.workerId) OR d.worker_id IN (
                   SELECT worker_id FROM team_members WHERE organisation_id = \(principal.organisationId) AND team_id = ANY(\(teams))))
            ORDER BY d.registered_at, d.id
            """)
    }

    /// By the device's worker, a supervisor of one of their teams, or an administrator (a lost tablet is theirs to
    /// revoke too; revoking shows nothing of any record). Others are told there is no such device.
    func revoke(device deviceId: UUID) async throws -> Components.Schemas.Device {
        guard let device = try await devices("WHERE d.organisation_id = \(principal.organisationId) AND d.id = \(deviceId)").first,
              let owner = UUID(uuidString: device.workerId)
        else { throw KithError.notFound }
        if owner != principal.workerId, !principal.has(.admin) {
            try await requireOversight(of: owner)
        }
        try await query(
            """
            UPDATE devices SET revoked_at = coalesce(revoked_at, now())
            WHERE organisation_id = \(principal.organisationId) AND id = \(deviceId)
            """)
        let ownerTeams = try await worker(owner).teamIds.compactMap(UUID.init(uuidString:))
        try await auditAdministration("device", recordId: deviceId, teamIds: ownerTeams, reason: "device revoked")
        return try await devices("WHERE d.organisation_id = \(principal.organisationId) AND d.id = \(deviceId)")[0]
    }

    /// Devices matching `filter`, a WHERE clause (with its ORDER BY) over `devices d`.
    func devices(_ filter: PostgresQuery) async throws -> [Components.Schemas.Device] {
        var query: PostgresQuery = """
            SELECT d.id, d.worker_id, d.name, d.platform, d.client_version, d.registered_at, d.last_synced_at, d.revoked_at
            FROM devices d
            """
        query.sql += "\n" + filter.sql
        query.binds = filter.binds
        var devices: [Components.Schemas.Device] = []
        for try await (id, worker, name, platform, version, registered, synced, revoked) in try await self.query(query)
            .decode((UUID, UUID, String, String, String, Date, Date?, Date?).self)
        {
            devices.append(.init(
                id: id.text, workerId: worker.text, name: name, platform: platform, clientVersion: version,
                registeredAt: registered, lastSyncedAt: synced, revokedAt: revoked))
        }
        return devices
    }
}
