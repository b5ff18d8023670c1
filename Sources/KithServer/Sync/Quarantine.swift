import Foundation
import KithAPI
import Logging
import PostgresNIO

/// A revoked device's pushes are refused (403 `device_revoked`) but never thrown away: each body is kept whole as a
/// `quarantined` review item for the supervisors of its worker's teams, who accept it (applied exactly once, through
/// the device's own sequence gate) or discard it (audited). At most `limit` bodies wait per device: a lost tablet
/// cannot fill the database, and the device is told to keep its work.
extension PostgresConnection {
    static let quarantineLimit = 20

    /// Keeps the body, or says why it was not kept (added to the 403).
    func quarantine(pushBody: ByteBuffer, deviceId: UUID, logger: Logger) async throws -> String? {
        let text = String(buffer: pushBody)
        // Kept whole: a body that is not a JSON object is kept as text inside one.
        let isObject = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) is [String: Any]
        let payload = isObject ? text : try KithJSON.text(["unreadableBody": text])
        // The device row is locked so that parallel pushes cannot each see room for one more.
        let kept = try await query(
            """
            WITH device AS (
                SELECT organisation_id, id, worker_id FROM devices
                WHERE organisation_id = kith_organisation() AND id = \(deviceId) FOR UPDATE
            ), waiting AS (
                SELECT count(*) AS n FROM review_items i, device d
                WHERE i.organisation_id = d.organisation_id AND i.device_id = d.id AND i.kind = 'quarantined' AND i.status = 'open'
            )
            INSERT INTO review_items (organisation_id, id, kind, worker_id, device_id, summary, reason, payload)
            SELECT d.organisation_id, gen_random_uuid(), 'quarantined', d.worker_id, d.id,
                   'Work pushed by a revoked device, held for a supervisor to accept or discard', 'device_revoked',
                   \(payload)::jsonb
            FROM device d, waiting WHERE waiting.n < \(Self.quarantineLimit)
            RETURNING id
            """, logger: logger
        ).decode(UUID.self).first { _ in true }
        guard kept != nil else {
            logger.warning("push from a revoked device not kept: its quarantine is full", metadata: ["device": "\(deviceId)"])
            return "Its quarantine already holds \(Self.quarantineLimit) pushes waiting for a supervisor, so this one was not kept: "
                + "keep the work on the device until a supervisor has decided."
        }
        logger.notice("push from a revoked device quarantined", metadata: ["device": "\(deviceId)"])
        return "The push was kept in quarantine for a supervisor to accept or discard."
    }
}

extension Records {
    /// By a supervisor of the device owner's teams, never the owner: nobody lets their own revoked device's work in.
    func acceptQuarantined(_ item: OpenReviewItem) async throws {
        let supervisor = principal
        guard let deviceId = item.deviceId, let payload = item.payload,
              let quarantined = try? KithJSON.decode(Components.Schemas.PushRequest.self, from: payload)
        else {
            throw KithError(
                status: .unprocessableContent, code: "action_not_applicable",
                detail: "The quarantined body is not a push this server can read; it is kept in the item.")
        }
        let author = try await principal(ofDevice: deviceId)
        guard author.teamIds.contains(where: supervisor.supervises(team:)) else { throw KithError.notFound }
        guard author.workerId != supervisor.workerId else {
            throw KithError.forbidden("Work from your own revoked device is accepted by another supervisor of your team.")
        }
        let device = try SyncDevice(author, claimed: deviceId.text)
        let response = try await Records(connection: connection, principal: author, logger: logger)
            .push(quarantined.mutations, device: device)
        guard response.results.count == quarantined.mutations.count else {
            throw KithError.conflict(
                "seq_gap", "The quarantined push starts after sequence number \(response.expectedSeq - 1) is missing; it stays in quarantine.")
        }
        let counts = Dictionary(grouping: response.results, by: \.status.rawValue).mapValues(\.count)
        let summary = counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        try await close(item, action: .accept, resolution: summary)
    }
}
