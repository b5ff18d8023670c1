import Foundation
import KithAPI
import KithCore
import Logging
import Metrics
import OpenAPIRuntime
import PostgresNIO

/// `POST /v1/sync/pull`: a page of the device's change feed, limited to its scope.
///
/// Grants are brought up to date first, in their own transaction under the device's lock; the page is then read in
/// one REPEATABLE READ snapshot. A family newly in scope is delivered whole before the feed goes on; a family out of
/// scope gets `purge_family` until the device acknowledges it. Records arrive in their REST shape, current as of the
/// snapshot, so a change delivered again is harmless; plan items and their progress arrive as the plan holding them.
extension KithService {
    func syncPull(_ input: Operations.SyncPull.Input) async throws -> Operations.SyncPull.Output {
        let principal = try Principal.required()
        let body = switch input.body { case .json(let body): body }
        let device = try SyncDevice(principal, claimed: body.deviceId)
        try syncRate.admit(device)
        try SyncProtocol.check(body._protocol, oldest: SyncProtocol.oldestPulled)
        var check = Validation()
        check.range("limit", body.limit, 1...5000)
        try check.orThrow()
        let limit = body.limit ?? 1000

        let epoch = try await records { records in
            _ = try await records.lockDevice(device)
            try await records.reconcileGrants(device)
            return try await records.connection.syncEpoch(device.organisationId, logger: logger)
        }
        let cursor = try body.cursor.map { try PullCursor.open($0, epoch: epoch, deviceId: device.id) }
            ?? PullCursor.start(epoch, deviceId: device.id)
        let response = try await records(isolation: .repeatableRead) {
            try await $0.pull(after: cursor, limit: limit, device: device, epoch: epoch, wholeFamilies: wholeFamilyPulls)
        }
        return .ok(.init(body: .json(response)))
    }

    func syncAck(_ input: Operations.SyncAck.Input) async throws -> Operations.SyncAck.Output {
        let principal = try Principal.required()
        let device = try SyncDevice(principal)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        check.count("purged", body.purged.count, max: 1000)
        let grantIds = body.purged.enumerated().compactMap { index, grant in
            _ = check.uuid("purged[\(index)].familyId", grant.familyId)
            return check.uuid("purged[\(index)].grantId", grant.grantId)
        }
        try check.orThrow()
        try await records { try await $0.acknowledgePurges(grantIds, device: device) }
        return .noContent(.init())
    }
}

extension Records {
    /// The device removed these families' records: their ended grants stop being repeated, and each purge is audited.
    func acknowledgePurges(_ grantIds: [UUID], device: SyncDevice) async throws {
        let acknowledged = try await query(
            """
            UPDATE device_grants SET purge_acked_at = now()
            WHERE organisation_id = \(principal.organisationId) AND device_id = \(device.id)
              AND id = ANY(\(grantIds)) AND ended_at IS NOT NULL AND purge_acked_at IS NULL
            RETURNING family_id
            """).collect().map { try $0.decode(UUID.self) }
        for familyId in acknowledged {
            try await audit(
                .write, "devicePurge", recordId: device.id, familyIds: [familyId],
                reason: "the device removed its copy of the family's record")
        }
        // A disposed family's purge: the family's id is in nothing but its certificate now, so the organisation's feed
        // says it without naming the family.
        let disposed = try await query(
            """
            UPDATE disposal_purges SET acked_at = now()
            WHERE organisation_id = \(principal.organisationId) AND device_id = \(device.id) AND id = ANY(\(grantIds)) AND acked_at IS NULL
            RETURNING certificate_id
            """).collect().map { try $0.decode(UUID.self) }
        for certificate in disposed {
            try await auditAdministration(
                "devicePurge", recordId: device.id, reason: "the device removed its copy of a disposed family (certificate \(certificate.text))")
        }
    }

    func pull(
        after cursor: PullCursor, limit: Int, device: SyncDevice, epoch: SyncEpoch, wholeFamilies: WholeFamilyPulls
    ) async throws -> Components.Schemas.PullResponse {
        if try await connection.changeLogWasPruned(after: cursor, logger: logger) {
            throw PullCursor.expired
        }
        let organisation = device.organisationId
        var next = cursor
        next.issuedAt = Date()
        next.timeline = epoch.timeline
        let horizon: UInt64
        if let windowEnd = cursor.windowEnd {
            horizon = windowEnd
        } else {
            let (xmin, lag) = try await query(
                PullHorizon.self, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text, kith_oldest_transaction_age()").first?.decode((String, Double).self) ?? ("0", 0)
            horizon = UInt64(xmin) ?? 0
            FeedLag.gauge.record(lag)
        }

        var grants: [(id: UUID, familyId: UUID, number: Int64)] = []
        var removals: [Components.Schemas.ScopeRemoval] = []
        for row in try await query(
            PullGrants.self,
            """
            SELECT id, family_id, number, ended_at IS NOT NULL, coalesce(end_reason, '')
            FROM device_grants
            WHERE organisation_id = \(organisation) AND device_id = \(device.id)
              AND (ended_at IS NULL OR purge_acked_at IS NULL)
            ORDER BY number
            """) {
            let (id, familyId, number, ended, reason) = try row.decode((UUID, UUID, Int64, Bool, String).self)
            if ended {
                removals.append(.init(familyId: familyId.text, grantId: id.text, reason: reason))
            } else {
                grants.append((id, familyId, number))
            }
        }
        // Families disposed of since the device held them: purged like any family leaving its scope, until it says so.
        for row in try await query(
            DisposalPurges.self,
            """
            SELECT id, family_id FROM disposal_purges
            WHERE organisation_id = \(organisation) AND device_id = \(device.id) AND acked_at IS NULL ORDER BY id
            """) {
            let (id, familyId) = try row.decode((UUID, UUID).self)
            removals.append(.init(familyId: familyId.text, grantId: id.text, reason: "disposed"))
        }

        var changes: [Components.Schemas.Change] = []
        var breakGlass: Set<UUID> = []
        var hasMore = false
        var deliveredWhole: Set<UUID> = []
        var groups = grants.filter { $0.number > cursor.grantsThrough }[...]
        if !groups.isEmpty {
            // A family part-way delivered that has since left the device's scope is no longer on its way.
            if let within = next.within, within.grant != groups.first?.number { next.within = nil }
            try await wholeFamilies.admit {
                // Families with every record however old: a few whole families at a time while they fit in the page,
                // and a family larger than what is left of it in slices (`FamilySlices`).
                var counts: [UUID: Int] = [:]
                while let first = groups.first, changes.count < limit {
                    // The device went away: what is read for it now is read for nobody.
                    if RequestWatch.current?.clientIsGone == true { throw CancellationError() }
                    let room = limit - changes.count
                    let candidates = Array(groups.prefix(Self.familiesReadTogether))
                    var group: [UUID] = []
                    if next.within?.grant != first.number {
                        if candidates.contains(where: { counts[$0.familyId] == nil }) {
                            // Counted a few groups ahead at once: a caseload's families in one statement.
                            let ahead = groups.prefix(Self.familiesReadTogether * 4).map(\.familyId)
                            counts.merge(try await recordCounts(ahead)) { $1 }
                        }
                        var size = 0
                        for grant in candidates {
                            size += counts[grant.familyId] ?? 0
                            guard size <= room else { break }
                            group.append(grant.familyId)
                        }
                    }
                    guard group.isEmpty else {
                        let records = try await familyRecords(of: group, only: nil)
                        changes += records.changes
                        breakGlass.formUnion(records.throughBreakGlass)
                        deliveredWhole.formUnion(group)
                        next.grantsThrough = candidates[group.count - 1].number
                        groups = groups.dropFirst(group.count)
                        continue
                    }
                    let slice = try await familySlice(
                        first.familyId, after: next.within?.grant == first.number ? next.within : nil, limit: room)
                    var named: [String: [UUID: UUID]] = [:]
                    for record in slice {
                        named[FamilySlices.kinds[record.rank].entity.rawValue, default: [:]][record.id] = first.familyId
                    }
                    let records = try await familyRecords(of: [first.familyId], only: named)
                    changes += records.changes
                    breakGlass.formUnion(records.throughBreakGlass)
                    if let last = slice.last, slice.count == room {
                        next.within = FamilyPosition(grant: first.number, rank: last.rank, after: last.id)
                        break
                    }
                    next.within = nil
                    next.grantsThrough = first.number
                    groups = groups.dropFirst()
                }
            }
            hasMore = !groups.isEmpty
            // A first sync needs no history beyond the families delivered whole: its feed starts at this snapshot.
            if cursor.afterXid == 0, cursor.windowEnd == nil { next.afterXid = horizon }
        }
        if !hasMore, next.afterXid >= horizon {
            // Nothing below the horizon comes after the cursor (a first sync whose families are all delivered, or a
            // pull with nothing new): the feed is read to the end without asking.
            next.afterXid = horizon
            next.afterSeq = 0
            next.windowEnd = nil
        } else if !hasMore, changes.count < limit {
            // The feed, in what room the page has left, in the same snapshot.
            let room = limit - changes.count
            var rows: [(xid: String, seq: Int64, familyId: UUID, entity: String, id: UUID)] = []
            for row in try await query(
                PullFeed.self,
                """
                SELECT xid::text, seq, family_id, entity, entity_id
                FROM sync_changes
                WHERE organisation_id = \(organisation) AND family_id = ANY(\(grants.map(\.familyId)))
                  AND (xid, seq) > (\(String(next.afterXid))::text::xid8, \(next.afterSeq))
                  AND xid < \(String(horizon))::text::xid8
                ORDER BY xid, seq
                LIMIT \(room + 1)
                """) {
                rows.append(try row.decode((String, Int64, UUID, String, UUID).self))
            }
            hasMore = rows.count > room
            let page = rows.prefix(room)
            if hasMore, let last = page.last {
                next.afterXid = UInt64(last.xid) ?? 0
                next.afterSeq = last.seq
                next.windowEnd = horizon
            } else {
                next.afterXid = horizon
                next.afterSeq = 0
                next.windowEnd = nil
            }
            // A family delivered whole in this page is already current in it.
            var changed: [String: [UUID: UUID]] = [:]
            for row in page where !deliveredWhole.contains(row.familyId) { changed[row.entity, default: [:]][row.id] = row.familyId }
            let families = Set(changed.values.flatMap(\.values))
            if !families.isEmpty {
                let records = try await familyRecords(of: Array(families), only: changed)
                changes += records.changes
                breakGlass.formUnion(records.throughBreakGlass)
            }
        } else {
            hasMore = true
        }

        let delivered = Set(Set(changes.compactMap(\.familyId)).compactMap(UUID.init(uuidString:)))
        for (families, glass) in [(delivered.subtracting(breakGlass), false), (breakGlass, true)] where !families.isEmpty {
            try await audit(.read, "sync", recordId: device.id, familyIds: families.sorted { $0.text < $1.text }, breakGlass: glass)
        }
        let lastAppliedSeq = try await query(
            PullLastApplied.self,
            "SELECT last_applied_seq FROM devices WHERE organisation_id = \(organisation) AND id = \(device.id)").first?.decode(Int64.self) ?? 0

        return .init(
            cursor: try next.sealed(with: epoch.cursorKey), hasMore: hasMore, lastAppliedSeq: lastAppliedSeq, changes: changes,
            scope: .init(grants: grants.map { .init(familyId: $0.familyId.text, grantId: $0.id.text) }, removals: removals),
            instructions: removals.map { .init(_type: .purgeFamily, familyId: $0.familyId, grantId: $0.grantId) },
            reviewItems: try await pulledReviewItems())
    }

    /// How many newly granted families a first sync reads with each set of statements, room allowing: a whole caseload
    /// at once where the page holds it (each set is some twenty statements; what it reads is bounded by the page's
    /// limit, not by the number of families).
    static let familiesReadTogether = 64

    /// The records of one kind a pull reads: all of its families', or those the change log named (each id with its family).
    enum Wanted {
        case all, these([UUID: UUID])
        var ids: [UUID]? { if case .these(let named) = self { Array(named.keys) } else { nil } }
    }

    /// Families' records in their REST shape, read together: all of them (`only` nil), or those named per entity (each
    /// id with its family), read by id. A record named but gone is a delete; a restricted note the worker may not read
    /// is left out. Also the families where they showed a restricted note that only break-glass let the worker see.
    private func familyRecords(
        of familyIds: [UUID], only: [String: [UUID: UUID]]?
    ) async throws -> (changes: [Components.Schemas.Change], throughBreakGlass: Set<UUID>) {
        let access = try await relationships(familyIds).values.filter(\.seesFamily).sorted { $0.familyId.text < $1.familyId.text }
        let families = access.map(\.familyId)
        guard !families.isEmpty else { return ([], []) }
        let visible = Set(families)
        var changes: [Components.Schemas.Change] = []
        /// Which records of a kind to read: nil when none was named, else all of them or those named.
        func wanted<Record: ChangeRecord>(_ type: Record.Type) -> Wanted? {
            guard let only else { return .all }
            return only[Record.changeEntity.rawValue].map { .these($0.filter { visible.contains($0.value) }) }
        }
        /// `gone`: which named records not read are deletes (nil: all of them).
        func add<Record: ChangeRecord>(_ records: [Record], familyOf: (Record) -> String, _ wanted: Wanted, gone: Set<UUID>? = nil) {
            changes += records.map { .upsert($0, familyId: familyOf($0)) }
            guard case .these(let named) = wanted else { return }
            let read = Set(records.map(\.id))
            changes += named.filter { !read.contains($0.key.text) && gone?.contains($0.key) != false }.sorted { $0.key.text < $1.key.text }
                .map { .delete(Record.self, id: $0.key.text, familyId: $0.value.text) }
        }
        if let wanted = wanted(Components.Schemas.Family.self) {
            add(try await self.families(wanted.ids ?? families), familyOf: \.id, wanted)
        }
        if let wanted = wanted(Components.Schemas.Person.self) {
            add(try await people(of: families, only: wanted.ids), familyOf: \.familyId, wanted)
        }
        if let wanted = wanted(Components.Schemas.Allocation.self) {
            add(try await allocations(of: families, only: wanted.ids), familyOf: \.familyId, wanted)
        }
        if let wanted = wanted(Components.Schemas.Contact.self) {
            add(try await contacts(of: families, only: wanted.ids), familyOf: \.familyId, wanted)
        }
        var throughBreakGlass: Set<UUID> = []
        if let wanted = wanted(Components.Schemas.JudgmentNote.self) {
            let notes = try await notes(of: access, only: wanted.ids)
            let restricted = Set(notes.filter { $0.audience == .restricted }.map(\.familyId))
            throughBreakGlass = Set(access.filter { restricted.contains($0.familyId.text) && $0.needsBreakGlass(.read, restricted: true) }
                .map(\.familyId))
            // A named note not read is one this worker may not read. Only one whose audience was narrowed can be on the
            // device (no other was ever sent to it): that one is dropped; of the others not even the id is sent.
            let unread = (wanted.ids ?? []).filter { id in !notes.contains { $0.id == id.text } }
            let narrowed = unread.isEmpty ? [] : try await query(
                """
                SELECT DISTINCT note_id FROM note_audience_changes
                WHERE organisation_id = \(principal.organisationId) AND note_id = ANY(\(unread))
                """).collect().map { try $0.decode(UUID.self) }
            add(notes, familyOf: \.familyId, wanted, gone: Set(narrowed))
        }
        if let wanted = wanted(Components.Schemas.FamilyMessage.self) {
            add(try await familyMessages(of: families, only: wanted.ids), familyOf: \.familyId, wanted)
        }
        if let wanted = wanted(Components.Schemas.Conference.self) {
            add(try await conferences(of: families, only: wanted.ids), familyOf: \.familyId, wanted)
        }
        if let wanted = wanted(Components.Schemas.FamilyPlan.self) {
            add(try await plans(of: families, only: wanted.ids), familyOf: \.familyId, wanted)
        }
        return (changes, throughBreakGlass)
    }

    /// Open review items for the device's worker, as the access policy addresses them (quarantined work is a
    /// supervisor's, online): sent whole on every pull, so the device's list is simply replaced (a resolved item drops out).
    private func pulledReviewItems() async throws -> [Components.Schemas.PulledReviewItem] {
        try await reviewItems(limit: 500, includeOfficeWork: false).map { row in
            .init(
                id: row.item.id, kind: .init(rawValue: row.item.kind.rawValue) ?? .rejected, familyId: row.item.familyId,
                mutationId: row.item.mutationId, summary: row.item.summary, reason: row.item.reason, payload: row.item.payload.map { .init(additionalProperties: $0.additionalProperties) })
        }
    }
}

/// The statements of every pull.
enum PullHorizon: HotStatement {}
enum PullGrants: HotStatement {}
enum PullFeed: HotStatement {}
enum PullLastApplied: HotStatement {}
/// A device's purges of families disposed of.
enum DisposalPurges: HotStatement {}
