import Foundation
import KithAPI
import KithCore
import Logging
import OpenAPIRuntime
import PostgresNIO

extension Records {
    /// Records sync work for a person to decide on, addressed to `recipients` and to the supervisors of `teamId`. Who
    /// may see it is decided again by the access policy whenever it is listed, pulled or resolved.
    @discardableResult
    func addReviewItem(
        _ kind: ReviewItemKind, familyId: UUID?, teamId: UUID?, deviceId: UUID?, mutationId: UUID?, summary: String,
        reason: String?, payload: String?, carriesRestricted: Bool = false, recipients: [UUID]
    ) async throws -> UUID {
        let id = UUID()
        try await query(
            """
            WITH item AS (
                INSERT INTO review_items (organisation_id, id, kind, family_id, team_id, worker_id, device_id, mutation_id,
                                          summary, reason, payload, carries_restricted)
                VALUES (\(principal.organisationId), \(id), \(kind.rawValue), \(familyId), \(teamId), \(principal.workerId),
                        \(deviceId), \(mutationId), \(Storable.text(summary)), \(reason.map(Storable.text)),
                        \(payload.map(Storable.json))::jsonb, \(carriesRestricted))
                RETURNING organisation_id, id
            )
            INSERT INTO review_item_recipients (organisation_id, review_item_id, worker_id)
            SELECT item.organisation_id, item.id, worker FROM item, unnest(\(Array(Set(recipients)))::uuid[]) AS worker
            """)
        return id
    }

    /// Open items the caller may see now, oldest first, after a keyset position (`created_at`, `id`): candidates are
    /// those addressed to them or to a team they supervise, kept only when the access policy says they receive them
    /// (`FamilyAccess.receives`, `Principal.receives`). Reading items that carry a family's content is audited.
    /// `includeOfficeWork`: also quarantined pushes and grants of access, which are decided in the office, never on a
    /// device.
    func reviewItems(
        after: (key: String, id: UUID)? = nil, only id: UUID? = nil, limit: Int, includeOfficeWork: Bool = true,
        forUpdate: Bool = false
    ) async throws -> [ReviewItemRow] {
        var found: [ReviewItemRow] = []
        var position = after
        while found.count < limit {
            let batch = try await reviewItemCandidates(
                after: position, only: id, limit: limit, includeOfficeWork: includeOfficeWork, forUpdate: forUpdate)
            let access = try await relationships(batch.compactMap(\.familyId))
            for row in batch {
                let receives = row.familyId.map { access[$0]?.receives(row.address) ?? false } ?? principal.receives(row.address)
                if receives { found.append(row) }
            }
            guard batch.count == limit, let last = batch.last else { break }
            position = (last.key, last.id)
        }
        let items = Array(found.prefix(limit))
        let families = Set(items.compactMap(\.familyId))
        if !families.isEmpty {
            try await audit(.read, "reviewItem", familyIds: families.sorted { $0.text < $1.text })
        }
        return items
    }

    private func reviewItemCandidates(
        after: (key: String, id: UUID)?, only id: UUID?, limit: Int, includeOfficeWork: Bool, forUpdate: Bool
    ) async throws -> [ReviewItemRow] {
        let teams = principal.has(.supervisor) ? principal.teamIds : []
        let afterKey = after?.key
        let afterId = after?.id
        var query: PostgresQuery = """
            SELECT \(unescaped: ReviewItemColumns.columns),
                   to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS key,
                   i.carries_restricted, coalesce(i.worker_id = \(principal.workerId), false) AS own,
                   EXISTS (SELECT 1 FROM review_item_recipients r
                           WHERE r.organisation_id = i.organisation_id AND r.review_item_id = i.id AND r.worker_id = \(principal.workerId))
                       AS recipient,
                   ARRAY(SELECT tm.team_id FROM team_members tm
                         WHERE tm.organisation_id = i.organisation_id AND tm.worker_id = i.worker_id) AS owner_teams,
                   i.team_id, (i.payload ->> 'workerId')::uuid AS about_worker
            FROM review_items i
            LEFT JOIN families f ON f.organisation_id = i.organisation_id AND f.id = i.family_id
            WHERE i.organisation_id = \(principal.organisationId) AND (i.status = 'open' OR \(id)::uuid IS NOT NULL)
              AND (\(id)::uuid IS NULL OR i.id = \(id)) AND (\(includeOfficeWork) OR i.kind NOT IN ('quarantined', 'accessGranted'))
              AND (i.worker_id = \(principal.workerId) OR f.team_id = ANY(\(teams)) OR EXISTS (
                      SELECT 1 FROM review_item_recipients r
                      WHERE r.organisation_id = i.organisation_id AND r.review_item_id = i.id AND r.worker_id = \(principal.workerId))
                   OR (i.kind = 'accessGranted' AND i.team_id = ANY(\(teams)))
                   OR (i.family_id IS NULL AND EXISTS (
                      SELECT 1 FROM team_members tm
                      WHERE tm.organisation_id = i.organisation_id AND tm.worker_id = i.worker_id AND tm.team_id = ANY(\(teams)))))
              AND (\(afterKey)::text IS NULL OR (i.created_at, i.id) > (\(afterKey)::text::timestamptz, \(afterId)))
            ORDER BY i.created_at, i.id
            LIMIT \(limit)
            """
        // Every pull reads the worker's items; resolving one locks it.
        let found: [PostgresRow]
        if forUpdate {
            query.sql += "\nFOR UPDATE OF i"
            found = try await self.query(query).collect()
        } else {
            found = try await self.query(ReviewItemsRead.self, query)
        }
        var rows: [ReviewItemRow] = []
        for row in found {
            let row = row.makeRandomAccess()
            let item = try ReviewItemColumns.item(row)
            let own: Bool = try row.decode("own")
            rows.append(ReviewItemRow(
                id: try row.decode("id"), item: item, key: try row.decode("key"), familyId: try row.decode("family_id"),
                payload: try row.decode("payload"),
                address: ReviewItemAddress(
                    kind: ReviewItemKind(rawValue: try row.decode("kind")) ?? .rejected, carriesRestricted: try row.decode("carries_restricted"),
                    isRecipient: try row.decode("recipient") || own, isOwnWork: own, ownerTeams: try row.decode("owner_teams"),
                    team: try row.decode("team_id"), aboutWorker: try row.decode("about_worker"))))
        }
        return rows
    }

    /// An open item the caller may act on (the policy's answer, as in the list), locked; others get 404.
    func openReviewItem(_ id: UUID) async throws -> OpenReviewItem {
        guard let row = try await reviewItems(only: id, limit: 1, forUpdate: true).first else { throw KithError.notFound }
        guard row.item.status == .open else { throw KithError.conflict("already_resolved", "This item has already been resolved.") }
        return OpenReviewItem(
            id: id, kind: row.address.kind, familyId: row.familyId, deviceId: row.item.deviceId.flatMap(UUID.init(uuidString:)),
            payload: row.payload, ownerTeams: row.address.ownerTeams)
    }

    /// Marks an item resolved and audits the decision (a discard most of all: the payload stays in the item).
    func close(
        _ item: OpenReviewItem, action: Components.Schemas.ResolveReviewItem.ActionPayload, resolution: String? = nil
    ) async throws {
        try await query(
            """
            UPDATE review_items
            SET status = 'resolved', resolved_by = \(principal.workerId), resolved_at = now(),
                resolution = jsonb_build_object('action', \(action.rawValue)::text, 'value', \(resolution)::text)
            WHERE organisation_id = \(principal.organisationId) AND id = \(item.id)
            """)
        let reason = "\(action.rawValue) \(item.kind.rawValue) review item"
        if let familyId = item.familyId {
            try await audit(.write, "reviewItem", recordId: item.id, familyIds: [familyId], reason: reason)
        } else {
            try await auditAdministration("reviewItem", recordId: item.id, teamIds: item.ownerTeams, reason: reason)
        }
    }

    /// Settles a field conflict: sets the chosen value as a new version of the field, or keeps what is showing.
    func resolveConflict(
        _ itemId: UUID, value: String?, keepCurrent: Bool = false
    ) async throws {
        let item = try await openReviewItem(itemId)
        struct Conflict: Decodable { let personId: UUID; let field: String }
        guard item.kind == .conflict, let payload = item.payload,
              let conflict = try? KithJSON.decode(Conflict.self, from: payload)
        else { throw KithError.notFound }
        if !keepCurrent {
            guard let familyId = item.familyId else { throw KithError.notFound }
            let access = try await access(familyId, for: .write)
            let version = try await query(
                """
                SELECT coalesce((field_versions ->> \(conflict.field))::int, 0) FROM people
                WHERE organisation_id = \(principal.organisationId) AND id = \(conflict.personId)
                """).decode(Int.self).first { _ in true } ?? 0
            let edit = try PersonFieldEdit.one(conflict.field, value: value, baseVersion: version)
            try await setFields(conflict.personId, [edit], access: access) { _ in }
        }
        try await close(item, action: keepCurrent ? .accept : .resolve, resolution: value)
    }

    /// Applies an edit proposed under an ended grant, now, as the proposer's (stale versions are settled by whoever
    /// accepts: the proposal wins, in arrival order).
    func acceptProposal(_ item: OpenReviewItem) async throws {
        guard let familyId = item.familyId, let payload = item.payload else { throw KithError.notFound }
        let access = try await access(familyId, for: .write)
        let mutation = try KithJSON.decode(Components.Schemas.Mutation.self, from: payload)
        switch try DeviceWrite(type: mutation._type, args: mutation.args.additionalProperties) {
        case .fields(let personId, let edits):
            try await setFields(personId, edits, access: access) { _ in }
        case .person(let person):
            try await save(person, access: access)
        case .planItemUpdate(let update):
            _ = try await save(update, access: access)
        case .participant(let change):
            _ = try await save(change, access: access)
        case .withdrawal(let withdrawal):
            // The proposer's withdrawal of their note, made the accepter's: it stands only if they may withdraw it too.
            try await save(withdrawal, access: access)
        case .refiling(let refiling):
            _ = try await save(refiling, from: access, to: try await self.access(refiling.familyId, for: .write))
        case .audience(let change):
            _ = try await save(change, access: access)
        case .contactCorrection(let correction):
            try await save(correction, access: access)
        case .contactWithdrawal(let withdrawal):
            try await save(withdrawal, access: access)
        case .contact, .note, .amendment, .resolveConflict, .handover, .conference, .stage, .meeting, .plan, .friction:
            throw KithError(status: .unprocessableContent, code: "action_not_applicable", detail: "This proposal cannot be applied.")
        }
        try await close(item, action: .accept)
    }

    /// An item as it stands, for one who has just acted on it.
    func reviewItem(_ id: UUID) async throws -> Components.Schemas.ReviewItem {
        let rows = try await query(
            "SELECT \(unescaped: ReviewItemColumns.columns) FROM review_items i WHERE i.organisation_id = \(principal.organisationId) AND i.id = \(id)")
        for try await row in rows { return try ReviewItemColumns.item(row.makeRandomAccess()) }
        throw KithError.notFound
    }
}

/// A review item's own columns (`i` is the item), read by name.
enum ReviewItemColumns {
    static let columns = "i.id, i.kind, i.family_id, i.mutation_id, i.device_id, i.summary, i.reason, i.status, i.created_at, i.payload::text"

    static func item(_ row: PostgresRandomAccessRow) throws -> Components.Schemas.ReviewItem {
        .init(
            id: try row.decode("id", as: UUID.self).text, kind: .init(rawValue: try row.decode("kind")) ?? .rejected,
            familyId: try row.decode("family_id", as: UUID?.self)?.text, mutationId: try row.decode("mutation_id", as: UUID?.self)?.text,
            deviceId: try row.decode("device_id", as: UUID?.self)?.text, summary: try row.decode("summary"),
            reason: try row.decode("reason"), status: .init(rawValue: try row.decode("status")) ?? .open,
            createdAt: try row.decode("created_at"),
            payload: try ReviewItemKind.container(try row.decode("payload")).map { .init(additionalProperties: $0) })
    }
}

/// The review items a worker may see, read by every pull and the review queue.
enum ReviewItemsRead: HotStatement {}

/// PostgreSQL's text and jsonb cannot hold U+0000. What a device sent is kept for a person to see with each NUL as
/// U+FFFD, so that a write which cannot be applied is still kept (its push goes on) rather than failing the whole push.
enum Storable {
    static func text(_ text: String) -> String {
        text.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text
    }

    static func json(_ json: String) -> String {
        guard json.contains("\\u0000"),
              let value = try? JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed),
              let data = try? JSONSerialization.data(withJSONObject: replacingNUL(in: value), options: .fragmentsAllowed)
        else { return json }
        return String(decoding: data, as: UTF8.self)
    }

    private static func replacingNUL(in value: Any) -> Any {
        switch value {
        case let text as String: return Self.text(text)
        case let array as [Any]: return array.map(replacingNUL)
        case let object as [String: Any]:
            return Dictionary(object.map { (Self.text($0.key), replacingNUL(in: $0.value)) }, uniquingKeysWith: { first, _ in first })
        default: return value
        }
    }
}
