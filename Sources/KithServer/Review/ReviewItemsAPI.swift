import Foundation
import KithAPI
import KithCore
import Logging
import OpenAPIRuntime
import PostgresNIO

/// Sync work a person must decide on, addressed to a worker or (for supervisors) to their teams.
extension KithService {
    func listReviewItems(_ input: Operations.ListReviewItems.Input) async throws -> Operations.ListReviewItems.Output {
        let principal = try Principal.required()
        let limit = try PageSize.resolve(input.query.limit)
        let after = try KeysetPosition(input.query.after)
        let teams = principal.has(.supervisor) ? principal.teamIds : []

        var items = try await records { records in
            let rows = try await records.connection.query(
                """
                SELECT id, kind, family_id, mutation_id, device_id, summary, reason, status, created_at, payload::text,
                       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                FROM review_items
                WHERE organisation_id = \(principal.organisationId) AND status = 'open'
                  AND (worker_id = \(principal.workerId) OR team_id = ANY(\(teams)) OR EXISTS (
                      SELECT 1 FROM review_item_recipients r
                      WHERE r.organisation_id = review_items.organisation_id AND r.review_item_id = review_items.id
                        AND r.worker_id = \(principal.workerId)))
                  AND (\(after?.key)::timestamptz IS NULL OR (created_at, id) > (\(after?.key)::timestamptz, \(after?.id)))
                ORDER BY created_at, id
                LIMIT \(limit + 1)
                """, logger: logger)
            var items: [(Components.Schemas.ReviewItem, String)] = []
            for try await (id, kind, family, mutation, device, summary, reason, status, createdAt, payload, key) in rows.decode(
                (UUID, String, UUID?, UUID?, UUID?, String, String?, String, Date, String?, String).self)
            {
                items.append((.init(
                    id: id.text, kind: .init(rawValue: kind) ?? .rejected, familyId: family?.text, mutationId: mutation?.text,
                    deviceId: device?.text, summary: summary, reason: reason, status: .init(rawValue: status) ?? .open,
                    createdAt: createdAt, payload: try ReviewItemKind.container(payload).map { .init(additionalProperties: $0) }), key))
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

    func resolveReviewItem(_ input: Operations.ResolveReviewItem.Input) async throws -> Operations.ResolveReviewItem.Output {
        let principal = try Principal.required()
        let itemId = try UUID(path: input.path.reviewItemId)
        let body = switch input.body { case .json(let body): body }
        let item = try await records { records in
            let item = try await records.connection.openReviewItem(itemId, for: principal, logger: logger)
            switch (item.kind, body.action) {
            case (.conflict, .resolve), (.conflict, .accept):
                // `accept` keeps the value showing now; `resolve` sets the chosen one.
                try await records.connection.resolveConflict(
                    itemId, value: body.action == .resolve ? body.value : nil, keepCurrent: body.action == .accept,
                    principal: principal, logger: logger)
            case (.quarantined, .accept):
                try principal.require(.supervisor, "a supervisor of the device's team")
                try await records.connection.acceptQuarantined(item, by: principal, logger: logger)
            case (.proposal, .accept):
                try await records.connection.acceptProposal(item, by: principal, logger: logger)
            case (.quarantined, .discard):
                try principal.require(.supervisor, "a supervisor of the device's team")
                try await records.connection.close(item, action: .discard, by: principal, logger: logger)
            case (_, .discard), (.late, _), (.rejected, .resolve):
                try await records.connection.close(item, action: body.action, by: principal, logger: logger)
            case (.rejected, .accept), (.proposal, .resolve), (.quarantined, .resolve):
                throw KithError(
                    status: .unprocessableContent, code: "action_not_applicable",
                    detail: "A \(item.kind.rawValue) item can be \(item.kind.actions); its payload is kept in the item.")
            }
            return try await records.connection.reviewItem(itemId, organisationId: principal.organisationId, logger: logger)
        }
        return .ok(.init(body: .json(item)))
    }
}

enum ReviewItemKind: String, Sendable {
    case rejected, conflict, late, proposal, quarantined

    var actions: String {
        switch self {
        case .rejected: "resolved (handled) or discarded"
        case .conflict: "resolved with a value, or accepted as it stands"
        case .late: "accepted or discarded (the record stays; this only clears the item)"
        case .proposal: "accepted (applied now) or discarded"
        case .quarantined: "accepted (applied once) or discarded by a supervisor"
        }
    }

    static func container(_ json: String?) throws -> OpenAPIObjectContainer? {
        try json.map { try JSONDecoder().decode(OpenAPIObjectContainer.self, from: Data($0.utf8)) }
    }
}

/// An open review item as its resolver needs it.
struct OpenReviewItem: Sendable {
    let id: UUID
    let kind: ReviewItemKind
    let familyId: UUID?
    let teamId: UUID?
    let deviceId: UUID?
    let payload: String?
}

extension PostgresConnection {
    /// Records sync work for a person to decide on, addressed to `recipients` and to the supervisors of `teamId`.
    @discardableResult
    func addReviewItem(
        _ kind: ReviewItemKind, familyId: UUID?, teamId: UUID?, deviceId: UUID?, mutationId: UUID?, summary: String,
        reason: String?, payload: String?, recipients: [UUID], organisationId: UUID, logger: Logger
    ) async throws -> UUID {
        let id = UUID()
        try await query(
            """
            WITH item AS (
                INSERT INTO review_items (organisation_id, id, kind, family_id, team_id, worker_id, device_id, mutation_id,
                                          summary, reason, payload)
                VALUES (\(organisationId), \(id), \(kind.rawValue), \(familyId), \(teamId), \(recipients.first), \(deviceId),
                        \(mutationId), \(summary), \(reason), \(payload)::jsonb)
                RETURNING organisation_id, id
            )
            INSERT INTO review_item_recipients (organisation_id, review_item_id, worker_id)
            SELECT item.organisation_id, item.id, worker FROM item, unnest(\(Array(Set(recipients)))::uuid[]) AS worker
            """, logger: logger)
        return id
    }

    /// An open item the caller may act on: addressed to them, or to a team they supervise. Others get 404.
    func openReviewItem(_ id: UUID, for principal: Principal, logger: Logger) async throws -> OpenReviewItem {
        let teams = principal.has(.supervisor) ? principal.teamIds : []
        let rows = try await query(
            """
            SELECT i.kind, i.family_id, i.team_id, i.device_id, i.payload::text, i.status = 'open'
            FROM review_items i
            WHERE i.organisation_id = \(principal.organisationId) AND i.id = \(id)
              AND (i.worker_id = \(principal.workerId) OR i.team_id = ANY(\(teams)) OR EXISTS (
                  SELECT 1 FROM review_item_recipients r
                  WHERE r.organisation_id = i.organisation_id AND r.review_item_id = i.id AND r.worker_id = \(principal.workerId)))
            FOR UPDATE OF i
            """, logger: logger)
        for try await (kind, family, team, device, payload, open) in rows.decode((String, UUID?, UUID?, UUID?, String?, Bool).self) {
            guard open else { throw KithError.conflict("already_resolved", "This item has already been resolved.") }
            return OpenReviewItem(
                id: id, kind: ReviewItemKind(rawValue: kind) ?? .rejected, familyId: family, teamId: team, deviceId: device,
                payload: payload)
        }
        throw KithError.notFound
    }

    /// Marks an item resolved and audits the decision (a discard most of all: the payload stays in the item).
    func close(
        _ item: OpenReviewItem, action: Components.Schemas.ResolveReviewItem.ActionPayload, resolution: String? = nil,
        by principal: Principal, logger: Logger
    ) async throws {
        try await query(
            """
            UPDATE review_items
            SET status = 'resolved', resolved_by = \(principal.workerId), resolved_at = now(),
                resolution = jsonb_build_object('action', \(action.rawValue)::text, 'value', \(resolution)::text)
            WHERE organisation_id = \(principal.organisationId) AND id = \(item.id)
            """, logger: logger)
        let reason = "\(action.rawValue) \(item.kind.rawValue) review item"
        if let familyId = item.familyId {
            try await audit(.write, "reviewItem", recordId: item.id, familyIds: [familyId], principal: principal, reason: reason, logger: logger)
        } else {
            try await auditWithoutFamily(.write, "reviewItem", recordId: item.id, principal: principal, reason: reason, logger: logger)
        }
    }

    /// Settles a field conflict: sets the chosen value as a new version of the field, or keeps what is showing.
    func resolveConflict(
        _ itemId: UUID, value: String?, keepCurrent: Bool = false, principal: Principal, logger: Logger
    ) async throws {
        let item = try await openReviewItem(itemId, for: principal, logger: logger)
        struct Conflict: Decodable { let personId: UUID; let field: String }
        guard item.kind == .conflict, let payload = item.payload,
              let conflict = try? JSONDecoder().decode(Conflict.self, from: Data(payload.utf8))
        else { throw KithError.notFound }
        if !keepCurrent {
            guard let familyId = item.familyId else { throw KithError.notFound }
            let access = try await familyAccess(familyId, for: principal, logger: logger)
            let version = try await query(
                """
                SELECT coalesce((field_versions ->> \(conflict.field))::int, 0) FROM people
                WHERE organisation_id = \(principal.organisationId) AND id = \(conflict.personId)
                """, logger: logger
            ).decode(Int.self).first { _ in true } ?? 0
            let edit = try PersonFieldEdit.one(conflict.field, value: value, baseVersion: version)
            try await setFields(conflict.personId, [edit], access: access, principal: principal, logger: logger) { _ in }
        }
        try await close(item, action: keepCurrent ? .accept : .resolve, resolution: value, by: principal, logger: logger)
    }

    /// Applies an edit proposed under an ended grant, now, as the proposer's (stale versions are settled by whoever
    /// accepts: the proposal wins, in arrival order).
    func acceptProposal(_ item: OpenReviewItem, by principal: Principal, logger: Logger) async throws {
        guard let familyId = item.familyId, let payload = item.payload else { throw KithError.notFound }
        let access = try await familyAccess(familyId, for: principal, logger: logger)
        let mutation = try JSONDecoder.kith.decode(Components.Schemas.Mutation.self, from: Data(payload.utf8))
        switch try DeviceWrite(type: mutation._type, args: mutation.args.additionalProperties) {
        case .fields(let personId, let edits):
            try await setFields(personId, edits, access: access, principal: principal, logger: logger) { _ in }
        case .person(let person):
            try await save(person, access: access, principal: principal, logger: logger)
        case .planItemUpdate(let update):
            _ = try await save(update, access: access, principal: principal, logger: logger)
        case .contact, .note, .amendment, .resolveConflict:
            throw KithError(status: .unprocessableContent, code: "action_not_applicable", detail: "This proposal cannot be applied.")
        }
        try await close(item, action: .accept, by: principal, logger: logger)
    }

    func reviewItem(_ id: UUID, organisationId: UUID, logger: Logger) async throws -> Components.Schemas.ReviewItem {
        let rows = try await query(
            """
            SELECT kind, family_id, mutation_id, device_id, summary, reason, status, created_at, payload::text
            FROM review_items WHERE organisation_id = \(organisationId) AND id = \(id)
            """, logger: logger)
        for try await (kind, family, mutation, device, summary, reason, status, createdAt, payload) in rows.decode(
            (String, UUID?, UUID?, UUID?, String, String?, String, Date, String?).self)
        {
            return .init(
                id: id.text, kind: .init(rawValue: kind) ?? .rejected, familyId: family?.text, mutationId: mutation?.text,
                deviceId: device?.text, summary: summary, reason: reason, status: .init(rawValue: status) ?? .open,
                createdAt: createdAt, payload: try ReviewItemKind.container(payload).map { .init(additionalProperties: $0) })
        }
        throw KithError.notFound
    }
}

extension JSONDecoder {
    /// Reads what Kith itself wrote as JSON (ISO 8601 times).
    static var kith: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
