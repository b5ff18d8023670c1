import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

extension Records {
    /// Devices matching `filter`, a WHERE clause (with its ORDER BY) over `devices d`.
    func devices(_ filter: PostgresQuery) async throws -> [Components.Schemas.Device] {
        var query: PostgresQuery = """
            SELECT d.id, d.worker_id, d.name, d.platform, d.client_version, d.registered_at, d.last_synced_at, d.revoked_at
            FROM devices d
            """
        query.sql += "\n" + filter.sql
        query.binds = filter.binds
        var devices: [Components.Schemas.Device] = []
        for try await (id, worker, name, platform, version, registered, synced, revoked) in try await connection.query(query, logger: logger)
            .decode((UUID, UUID, String, String, String, Date, Date?, Date?).self)
        {
            devices.append(.init(
                id: id.text, workerId: worker.text, name: name, platform: platform, clientVersion: version,
                registeredAt: registered, lastSyncedAt: synced, revokedAt: revoked))
        }
        return devices
    }
}
