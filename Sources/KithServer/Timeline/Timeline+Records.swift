import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// A page of a family's timeline and its audit event: `kith_read_timeline` (migration 0017), one statement that
/// enters the wall itself, the request's whole transaction (`KithService.inOneStatement`). The event is marked
/// `breakGlass` as `Records.audit` would mark it, by whether the page shows a restricted note.
enum TimelineRead: HotStatement {
    static func statement(
        of familyId: UUID, access: FamilyAccess, after: KeysetPosition?, limit: Int, by principal: Principal
    ) -> PostgresQuery {
        """
        SELECT kind, at, id, worker_id, person_id, summary, detail, at_key
        FROM kith_read_timeline(\(principal.organisationId), \(Database.preparesStatements), \(principal.workerId), \(familyId),
                                \(access.seesRestricted), \(after?.key)::text, \(after?.id)::uuid, \(limit)::integer,
                                \(access.needsBreakGlass(.read, restricted: true)), \(access.needsBreakGlass(.read)))
        """
    }

    /// The page the statement's rows make, newest first, with the cursor after its last entry when there are more.
    static func page(_ rows: [PostgresRow], limit: Int) throws -> Components.Schemas.TimelinePage {
        var items: [(Components.Schemas.TimelineEntry, String)] = []
        for row in rows {
            let (kind, at, id, worker, person, summary, detail, atKey) = try row.decode(
                (String, Date, UUID, UUID?, UUID?, String?, String?, String).self)
            items.append((.init(
                kind: .init(rawValue: kind) ?? .contact, at: at, id: id.text, workerId: worker?.text, personId: person?.text,
                summary: summary, detail: detail), atKey))
        }
        var next: String?
        if items.count > limit {
            items.removeLast()
            next = items.last.map { KeysetPosition.after(key: $0.1, id: $0.0.id) }
        }
        return Components.Schemas.TimelinePage(items: items.map(\.0), next: next)
    }
}
