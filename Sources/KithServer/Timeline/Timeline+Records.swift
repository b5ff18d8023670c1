import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// A page of a family's timeline and its audit event: `kith_read_timeline` (`db/functions/`), one statement that
/// enters the wall itself from the request's token (`kith_acting_worker`), the request's whole transaction
/// (`KithService.inOneStatement`). The event is marked `breakGlass` as `Records.audit` would mark it, by whether the
/// page shows a restricted note.
enum TimelineRead: HotStatement {
    static func statement(
        of familyId: UUID, access: FamilyAccess, after: KeysetPosition?, limit: Int, as acting: ActingWorker
    ) -> PostgresQuery {
        """
        SELECT t.kind, t.at, t.id, t.worker_id, t.person_id, t.summary, t.detail, t.at_key
        FROM kith_acting_worker(\(acting.tokenHash)::bytea, \(Database.preparesStatements), \(acting.worker)::uuid) AS w(worker)
        CROSS JOIN LATERAL kith_read_timeline(w.worker, \(familyId), \(access.seesRestricted), \(after?.key)::text,
                                              \(after?.id)::uuid, \(limit)::integer,
                                              \(access.needsBreakGlass(.read, restricted: true)),
                                              \(access.needsBreakGlass(.read))) AS t
        """
    }

    /// The page the statement's rows make, newest first, with the cursor after its last entry (`after`: its time key
    /// and id) when there are more.
    static func page(
        _ rows: [PostgresRow], limit: Int, after: (String, String) -> String
    ) throws -> Components.Schemas.TimelinePage {
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
            next = items.last.map { after($0.1, $0.0.id) }
        }
        return Components.Schemas.TimelinePage(items: items.map(\.0), next: next)
    }
}
