import Foundation
import KithAPI
import PostgresNIO

/// A family newly in a device's scope is delivered whole before its feed goes on, but not necessarily in one page: a
/// family larger than what is left of a page arrives in slices, its records in a fixed order (the family, its people,
/// allocations, contacts, notes, messages, conferences, plans; by id within each kind), the cursor holding the last one
/// sent (`PullCursor.within`). Each slice is read in its page's snapshot; what changed in the family since an earlier
/// slice comes again through the feed, which a first sync starts at its first page's snapshot and a later sync reads
/// from before the family was granted.
struct FamilyPosition: Codable, Equatable, Sendable {
    /// The grant whose family is part-way delivered.
    var grant: Int64
    /// The kind of the last record sent, as its place in `FamilySlices.kinds`, and its id.
    var rank: Int
    var after: UUID
}

enum FamilySlices {
    /// The kinds of a family's records, in the order a family is delivered, with the table that holds each.
    static let kinds: [(entity: Components.Schemas.ChangeEntity, table: String)] = [
        (.family, "families"), (.person, "people"), (.allocation, "allocations"), (.contact, "contacts"), (.note, "notes"),
        (.familyMessage, "family_messages"), (.conference, "conferences"), (.plan, "family_plans"),
    ]

    /// Every record of the families `$2`, as (rank, family, id), in organisation `$1`: a row of each table a family's
    /// record is kept in (a note's revisions, a plan's items and a conference's stages travel inside their record).
    static let records: String = kinds.enumerated().map { rank, kind in
        let family = kind.entity == .family ? "id" : "family_id"
        return "SELECT \(rank) AS rank, \(family) AS family_id, id FROM \(kind.table) WHERE organisation_id = $1 AND \(family) = ANY($2)"
    }.joined(separator: "\nUNION ALL ")
}

extension Records {
    /// How many records each family holds (notes the caller may not read among them: an upper bound of what it sends).
    func recordCounts(_ families: [UUID]) async throws -> [UUID: Int] {
        var bindings = PostgresBindings()
        bindings.append(principal.organisationId)
        bindings.append(families)
        let rows = try await query(
            FamilyRecordCounts.self,
            PostgresQuery(unsafeSQL: "SELECT family_id, count(*)::int FROM (\(FamilySlices.records)) r GROUP BY family_id", binds: bindings))
        var counts: [UUID: Int] = [:]
        for row in rows {
            let (family, count) = try row.decode((UUID, Int).self)
            counts[family] = count
        }
        return counts
    }

    /// Up to `limit` of a family's records after `position` (from its start without one), in delivery order.
    func familySlice(_ family: UUID, after position: FamilyPosition?, limit: Int) async throws -> [(rank: Int, id: UUID)] {
        var bindings = PostgresBindings()
        bindings.append(principal.organisationId)
        bindings.append([family])
        bindings.append(position?.rank ?? -1)
        bindings.append(position?.after ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
        bindings.append(limit)
        return try await query(
            FamilySliceRead.self,
            PostgresQuery(
                unsafeSQL: """
                    SELECT rank, id FROM (\(FamilySlices.records)) r
                    WHERE (rank, id) > ($3::int, $4::uuid) ORDER BY rank, id LIMIT $5::int
                    """, binds: bindings)).map { try $0.decode((Int, UUID).self) }
    }
}

/// The statements of a family delivered in slices: constant text, the families and positions bound.
enum FamilyRecordCounts: HotStatement {}
enum FamilySliceRead: HotStatement {}
