import Foundation
import KithAPI
import Logging
import PostgresNIO

/// A revoked device's pushes are refused (403 `device_revoked`) but never thrown away: each body is kept whole as a
/// `quarantined` review item for the supervisors of its worker's team, who accept it (applied exactly once, through
/// the device's own sequence gate) or discard it (audited).
extension PostgresConnection {
    func quarantine(pushBody: ByteBuffer, deviceId: UUID, organisationId: UUID, logger: Logger) async throws {
        let text = String(buffer: pushBody)
        // Kept whole: a body that is not a JSON object is kept as text inside one.
        let isObject = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) is [String: Any]
        let payload = isObject ? text : try Self.json(["unreadableBody": text])
        try await query(
            """
            INSERT INTO review_items (organisation_id, id, kind, team_id, worker_id, device_id, summary, reason, payload)
            SELECT d.organisation_id, gen_random_uuid(), 'quarantined',
                   (SELECT min(tm.team_id::text)::uuid FROM team_members tm
                     WHERE tm.organisation_id = d.organisation_id AND tm.worker_id = d.worker_id),
                   d.worker_id, d.id, 'Work pushed by a revoked device, held for a supervisor to accept or discard',
                   'device_revoked', \(payload)::jsonb
            FROM devices d WHERE d.organisation_id = \(organisationId) AND d.id = \(deviceId)
            """, logger: logger)
        logger.notice("push from a revoked device quarantined", metadata: ["device": "\(deviceId)"])
    }

    func acceptQuarantined(_ item: OpenReviewItem, by supervisor: Principal, logger: Logger) async throws {
        guard let deviceId = item.deviceId, let payload = item.payload,
              let quarantined = try? JSONDecoder.kith.decode(Components.Schemas.PushRequest.self, from: Data(payload.utf8))
        else {
            throw KithError(
                status: .unprocessableContent, code: "action_not_applicable",
                detail: "The quarantined body is not a push this server can read; it is kept in the item.")
        }
        let author = try await principal(ofDevice: deviceId, organisationId: supervisor.organisationId, logger: logger)
        guard author.teamIds.contains(where: supervisor.supervises(team:)) else { throw KithError.notFound }
        let device = try SyncDevice(author, claimed: deviceId.text)
        let response = try await push(quarantined.mutations, device: device, logger: logger)
        guard response.results.count == quarantined.mutations.count else {
            throw KithError.conflict(
                "seq_gap", "The quarantined push starts after sequence number \(response.expectedSeq - 1) is missing; it stays in quarantine.")
        }
        let counts = Dictionary(grouping: response.results, by: \.status.rawValue).mapValues(\.count)
        let summary = counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        try await close(item, action: .accept, resolution: summary, by: supervisor, logger: logger)
    }
}
