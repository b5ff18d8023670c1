import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// The sync protocol versions this server speaks. Pushes from older clients are still taken, so work written on an
/// old version is never stranded; their pulls get 426 until the client is updated.
enum SyncProtocol {
    static let current = SyncProtocolVersion.current
    static let oldestPulled = 1
    static let oldestPushed = 0
    static let maxMutationsPerPush = 500

    static func check(_ version: Int, oldest: Int) throws {
        guard version <= current, version >= 0 else {
            throw KithError.invalidField("protocol", "this server speaks sync protocol \(oldest) to \(current)")
        }
        guard version >= oldest else {
            throw KithError(
                status: .upgradeRequired, code: "protocol_too_old",
                detail: "This client's sync protocol (\(version)) is too old to pull; update it. Its pushes are still accepted.")
        }
    }
}

/// The device a sync request comes from: the device its token was issued to, which must be the one it names.
struct SyncDevice: Sendable {
    let id: UUID
    let principal: Principal

    var organisationId: UUID { principal.organisationId }
    var workerId: UUID { principal.workerId }

    init(_ principal: Principal) throws {
        guard let id = principal.deviceId else {
            throw KithError.forbidden("Sync needs a device token: register this device with `POST /v1/devices` first.")
        }
        self.id = id
        self.principal = principal
    }

    init(_ principal: Principal, claimed deviceId: String) throws {
        try self.init(principal)
        guard UUID(uuidString: deviceId) == id else {
            throw KithError(status: .forbidden, code: "device_mismatch", detail: "This token belongs to another device.")
        }
    }
}

extension Records {
    /// The principal a device's worker has, for applying their quarantined work once a supervisor accepts it.
    func principal(ofDevice deviceId: UUID) async throws -> Principal {
        let organisationId = principal.organisationId
        let rows = try await query(
            """
            SELECT w.id, w.roles,
                   ARRAY(SELECT tm.team_id FROM team_members tm
                         WHERE tm.organisation_id = w.organisation_id AND tm.worker_id = w.id ORDER BY tm.team_id)
            FROM devices d JOIN workers w ON w.organisation_id = d.organisation_id AND w.id = d.worker_id
            WHERE d.organisation_id = \(organisationId) AND d.id = \(deviceId)
            """)
        for try await (worker, roles, teams) in rows.decode((UUID, [String], [UUID]).self) {
            return Principal(
                organisationId: organisationId, workerId: worker, sessionId: UUID(), deviceId: deviceId,
                roles: Set(roles.compactMap(Role.init(rawValue:))), teamIds: teams)
        }
        throw KithError.notFound
    }
}
