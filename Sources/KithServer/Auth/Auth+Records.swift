import Foundation
import KithAPI
import Logging
import PostgresNIO

extension Records {
    /// The session a sign-in opens for the principal (only the token's hash is kept); the worker it is for.
    func openSession(tokenHash: Data, expiresAt: Date) async throws -> Components.Schemas.Worker {
        try await query(
            """
            INSERT INTO sessions (organisation_id, id, worker_id, token_hash, expires_at)
            VALUES (\(principal.organisationId), \(principal.sessionId), \(principal.workerId), \(tokenHash), \(expiresAt))
            """)
        return try await worker(principal.workerId)
    }

    /// Signing out: this session ends, and so does the device it is (a device signing itself out) or registered (the
    /// terminal's sign-in), so that no token of that sign-in keeps syncing.
    func endSession() async throws {
        let rows = try await query(
            """
            WITH ended AS (
                UPDATE sessions SET revoked_at = coalesce(revoked_at, now())
                WHERE organisation_id = \(principal.organisationId) AND id = \(principal.sessionId)
            )
            SELECT device_id FROM sessions
            WHERE organisation_id = \(principal.organisationId) AND device_id IS NOT NULL
              AND (id = \(principal.sessionId) OR registered_by = \(principal.sessionId))
            """)
        var devices: Set<UUID> = []
        for try await device in rows.decode(UUID.self) { devices.insert(device) }
        for device in devices { _ = try await revoke(device: device) }
    }

    /// A worker's new password: every session of theirs ends but `keeping` (devices' tokens too: they sign in again),
    /// and the change is in the organisation's feed, seen by the worker's teams' supervisors.
    func setPassword(hash: String, of workerId: UUID, keeping sessionId: UUID?, reason: String) async throws {
        try await query(
            """
            WITH changed AS (
                UPDATE workers SET password_hash = \(hash) WHERE organisation_id = \(principal.organisationId) AND id = \(workerId)
            )
            UPDATE sessions SET revoked_at = now()
            WHERE organisation_id = \(principal.organisationId) AND worker_id = \(workerId) AND revoked_at IS NULL
              AND id IS DISTINCT FROM \(sessionId)::uuid
            """)
        let teams = try await worker(workerId).teamIds.compactMap(UUID.init(uuidString:))
        try await auditAdministration("worker", recordId: workerId, teamIds: teams, reason: reason)
    }

    func me() async throws -> Components.Schemas.Me {
        let worker = try await worker(principal.workerId)
        let organisation = try await query(
            "SELECT id, name FROM organisations WHERE id = \(principal.organisationId)").decode((UUID, String).self).first { _ in true }
        guard let organisation else { throw KithError.unauthorized }
        return .init(
            worker: worker, organisation: .init(id: organisation.0.text, name: organisation.1),
            teams: try await teams(ids: principal.teamIds))
    }
}
