import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// Sync work a person must decide on, addressed to a worker or (for supervisors) to their teams.
extension KithService {
    func listReviewItems(_ input: Operations.ListReviewItems.Input) async throws -> Operations.ListReviewItems.Output {
        let principal = try Principal.required()
        let limit = try PageSize.resolve(input.query.limit)
        let after = try KeysetPosition(input.query.after)
        let teams = principal.has(.supervisor) ? principal.teamIds : []

        var items = try await read { connection in
            let rows = try await connection.query(
                """
                SELECT id, kind, family_id, mutation_id, device_id, summary, reason, status, created_at,
                       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                FROM review_items
                WHERE organisation_id = \(principal.organisationId) AND status = 'open'
                  AND (worker_id = \(principal.workerId) OR team_id = ANY(\(teams)))
                  AND (\(after?.key)::timestamptz IS NULL OR (created_at, id) > (\(after?.key)::timestamptz, \(after?.id)))
                ORDER BY created_at, id
                LIMIT \(limit + 1)
                """, logger: logger)
            var items: [(Components.Schemas.ReviewItem, String)] = []
            for try await (id, kind, family, mutation, device, summary, reason, status, createdAt, key) in rows.decode(
                (UUID, String, UUID?, UUID?, UUID?, String, String?, String, Date, String).self)
            {
                items.append((.init(
                    id: id.text, kind: .init(rawValue: kind) ?? .rejected, familyId: family?.text, mutationId: mutation?.text,
                    deviceId: device?.text, summary: summary, reason: reason, status: .init(rawValue: status) ?? .open,
                    createdAt: createdAt), key))
            }
            return items
        }
        var next: String?
        if items.count > limit {
            items.removeLast()
            next = items.last.map { KeysetPosition.after(key: $0.1, id: $0.0.id) }
        }
        return .ok(.init(body: .json(.init(items: items.map(\.0), next: next))))
    }
}
