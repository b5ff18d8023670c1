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
        let cursors = try cursors()
        let after = try KeysetPosition(input.query.after, in: .reviewItems, cursors: cursors, for: principal)
        var items = try await records { records in
            try await records.reviewItems(after: after.map { (key: $0.key, id: $0.id) }, limit: limit + 1)
        }
        var cursor: String?
        if items.count > limit {
            items.removeLast()
            cursor = items.last.map { cursors.make([$0.key, $0.item.id], list: .reviewItems, for: principal) }
        }
        return .ok(.init(body: .json(.init(items: items.map { $0.item }, next: cursor))))
    }

    func resolveReviewItem(_ input: Operations.ResolveReviewItem.Input) async throws -> Operations.ResolveReviewItem.Output {
        let principal = try Principal.required()
        let itemId = try UUID(path: input.path.reviewItemId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        check.text("value", body.value, max: 65_536)
        try check.orThrow()
        let item = try await records { records in
            let item = try await records.openReviewItem(itemId)
            switch (item.kind, body.action) {
            case (.conflict, .resolve), (.conflict, .accept):
                // `accept` keeps the value showing now; `resolve` sets the chosen one.
                try await records.resolveConflict(
                    itemId, value: body.action == .resolve ? body.value : nil, keepCurrent: body.action == .accept)
            case (.quarantined, .accept):
                try principal.require(.supervisor, "a supervisor of the device's team")
                try await records.acceptQuarantined(item)
            case (.proposal, .accept):
                try await records.acceptProposal(item)
            case (.quarantined, .discard):
                try principal.require(.supervisor, "a supervisor of the device's team")
                try await records.close(item, action: .discard)
            case (_, .discard), (.late, _), (.familyWords, _), (.handover, _), (.accessGranted, _), (.incident, _), (.rejected, .resolve):
                try await records.close(item, action: body.action)
            case (.rejected, .accept), (.proposal, .resolve), (.quarantined, .resolve):
                throw KithError(
                    status: .unprocessableContent, code: "action_not_applicable",
                    detail: "A \(item.kind.rawValue) item can be \(item.kind.actions); its payload is kept in the item.")
            }
            return try await records.reviewItem(itemId)
        }
        return .ok(.init(body: .json(item)))
    }
}

enum ReviewItemKind: String, Sendable {
    case rejected, conflict, late, proposal, quarantined
    /// A family member's message or progress from the family's page, for their worker to read.
    case familyWords
    /// The outgoing worker's handover note, for the incoming worker to read.
    case handover
    /// A role that reads case content given to a worker of a team, for the team's supervisors to see.
    case accessGranted
    /// A data incident opened for the family (a note shown on the family's page, then withdrawn or refiled), for the
    /// family's supervisors to decide on (`GET /v1/incidents`).
    case incident

    var actions: String {
        switch self {
        case .rejected: "resolved (handled) or discarded"
        case .conflict: "resolved with a value, or accepted as it stands"
        case .late: "accepted or discarded (the record stays; this only clears the item)"
        case .proposal: "accepted (applied now) or discarded"
        case .quarantined: "accepted (applied once) or discarded by a supervisor"
        case .familyWords: "marked read (accepted, resolved or discarded: the family's words stay in the record)"
        case .handover: "acknowledged (accepted, resolved or discarded: the note stays on the allocation)"
        case .accessGranted: "acknowledged (accepted, resolved or discarded: the grant stays as it is)"
        case .incident: "acknowledged (accepted, resolved or discarded: the decision is recorded on the incident)"
        }
    }

    static func container(_ json: String?) throws -> OpenAPIObjectContainer? {
        try json.map { try KithJSON.decode(OpenAPIObjectContainer.self, from: $0) }
    }
}

/// An open review item as its resolver needs it.
struct OpenReviewItem: Sendable {
    let id: UUID
    let kind: ReviewItemKind
    let familyId: UUID?
    let deviceId: UUID?
    let payload: String?
    /// The teams of the worker whose device pushed the work, whose supervisors see a decision on it.
    let ownerTeams: [UUID]
}

/// An open review item as its resolver needs it, and as the access policy judges who it is for.
struct ReviewItemRow: Sendable {
    let id: UUID
    let item: Components.Schemas.ReviewItem
    let key: String
    let familyId: UUID?
    let payload: String?
    let address: ReviewItemAddress
}
