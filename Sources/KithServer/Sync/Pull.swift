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
        let response = try await db.transaction(organisation: principal.organisationId, isolation: .repeatableRead) { connection in
            try await Records(connection: connection, principal: principal, logger: logger)
                .pull(after: cursor, limit: limit, device: device, epoch: epoch)
        }
        return .ok(.init(body: .json(response)))
    }

    func syncAck(_ input: Operations.SyncAck.Input) async throws -> Operations.SyncAck.Output {
        let principal = try Principal.required()
        let device = try SyncDevice(principal)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
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
        let acknowledged = try await connection.query(
            """
            UPDATE device_grants SET purge_acked_at = now()
            WHERE organisation_id = \(principal.organisationId) AND device_id = \(device.id)
              AND id = ANY(\(grantIds)) AND ended_at IS NOT NULL AND purge_acked_at IS NULL
            RETURNING family_id
            """, logger: logger
        ).collect().map { try $0.decode(UUID.self) }
        for familyId in acknowledged {
            try await audit(
                .write, "devicePurge", recordId: device.id, familyIds: [familyId],
                reason: "the device removed its copy of the family's record")
        }
    }

    func pull(
        after cursor: PullCursor, limit: Int, device: SyncDevice, epoch: SyncEpoch
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
            let (xmin, lag) = try await connection.query(
                """
                SELECT pg_snapshot_xmin(pg_current_snapshot())::text, kith_oldest_transaction_age()
                """, logger: logger
            ).decode((String, Double).self).first { _ in true } ?? ("0", 0)
            horizon = UInt64(xmin) ?? 0
            // How far behind the present a pull can see: as old as the oldest transaction still writing.
            Gauge(label: "sync_horizon_lag_seconds").record(lag)
        }

        var grants: [(id: UUID, familyId: UUID, number: Int64)] = []
        var removals: [Components.Schemas.ScopeRemoval] = []
        for try await (id, familyId, number, ended, reason) in try await connection.query(
            """
            SELECT id, family_id, number, ended_at IS NOT NULL, coalesce(end_reason, '')
            FROM device_grants
            WHERE organisation_id = \(organisation) AND device_id = \(device.id)
              AND (ended_at IS NULL OR purge_acked_at IS NULL)
            ORDER BY number
            """, logger: logger
        ).decode((UUID, UUID, Int64, Bool, String).self) {
            if ended {
                removals.append(.init(familyId: familyId.text, grantId: id.text, reason: reason))
            } else {
                grants.append((id, familyId, number))
            }
        }

        var changes: [Components.Schemas.Change] = []
        var breakGlass: Set<UUID> = []
        var hasMore: Bool
        let newlyGranted = grants.filter { $0.number > cursor.grantsThrough }
        if !newlyGranted.isEmpty {
            // Whole families, at least one a page, each with every record however old.
            for grant in newlyGranted {
                guard changes.isEmpty || changes.count < limit else { break }
                let records = try await familyRecords(of: grant.familyId, only: nil, device: device)
                changes += records.changes
                if records.throughBreakGlass { breakGlass.insert(grant.familyId) }
                next.grantsThrough = grant.number
            }
            hasMore = true
            // A first sync needs no history beyond the families delivered whole: its feed starts at this snapshot.
            if cursor.afterXid == 0, cursor.windowEnd == nil { next.afterXid = horizon }
        } else {
            let scope = grants.map(\.familyId)
            var rows: [(xid: String, seq: Int64, familyId: UUID, entity: String, id: UUID)] = []
            for try await row in try await connection.query(
                """
                SELECT xid::text, seq, family_id, entity, entity_id
                FROM sync_changes
                WHERE organisation_id = \(organisation) AND family_id = ANY(\(scope))
                  AND (xid, seq) > (\(String(cursor.afterXid))::xid8, \(cursor.afterSeq))
                  AND xid < \(String(horizon))::xid8
                ORDER BY xid, seq
                LIMIT \(limit + 1)
                """, logger: logger
            ).decode((String, Int64, UUID, String, UUID).self) {
                rows.append(row)
            }
            hasMore = rows.count > limit
            let page = rows.prefix(limit)
            if hasMore, let last = page.last {
                next.afterXid = UInt64(last.xid) ?? 0
                next.afterSeq = last.seq
                next.windowEnd = horizon
            } else {
                next.afterXid = horizon
                next.afterSeq = 0
                next.windowEnd = nil
            }
            var changed: [UUID: [String: Set<UUID>]] = [:]
            for row in page {
                changed[row.familyId, default: [:]][row.entity, default: []].insert(row.id)
            }
            for (familyId, entities) in changed.sorted(by: { $0.key.text < $1.key.text }) {
                let records = try await familyRecords(of: familyId, only: entities, device: device)
                changes += records.changes
                if records.throughBreakGlass { breakGlass.insert(familyId) }
            }
        }

        let delivered = Set(changes.compactMap { $0.familyId.flatMap(UUID.init(uuidString:)) })
        for (families, glass) in [(delivered.subtracting(breakGlass), false), (breakGlass, true)] where !families.isEmpty {
            try await audit(.read, "sync", recordId: device.id, familyIds: families.sorted { $0.text < $1.text }, breakGlass: glass)
        }
        let lastAppliedSeq = try await connection.query(
            "SELECT last_applied_seq FROM devices WHERE organisation_id = \(organisation) AND id = \(device.id)", logger: logger
        ).decode(Int64.self).first { _ in true } ?? 0

        return .init(
            cursor: try next.sealed(with: epoch.cursorKey), hasMore: hasMore, lastAppliedSeq: lastAppliedSeq, changes: changes,
            scope: .init(grants: grants.map { .init(familyId: $0.familyId.text, grantId: $0.id.text) }, removals: removals),
            instructions: removals.map { .init(_type: .purgeFamily, familyId: $0.familyId, grantId: $0.grantId) },
            reviewItems: try await pulledReviewItems())
    }

    /// A family's records in their REST shape: all of them (`only` nil), or those named per entity, read by id. A
    /// record named but gone is a delete; a restricted note the worker may not read is left out. Also whether they
    /// showed a restricted note that only break-glass let the worker see.
    private func familyRecords(
        of familyId: UUID, only: [String: Set<UUID>]?, device: SyncDevice
    ) async throws -> (changes: [Components.Schemas.Change], throughBreakGlass: Bool) {
        guard let access = try await accessIfAny(familyId) else { return ([], false) }
        var throughBreakGlass = false
        var changes: [Components.Schemas.Change] = []
        let family = familyId.text
        /// The ids to read of this kind of record (nil: all of them), or nothing to read.
        func named<Record: ChangeRecord>(_ type: Record.Type) -> [UUID]?? {
            guard let only else { return .some(nil) }
            return only[Record.changeEntity.rawValue].map { $0.sorted { $0.text < $1.text } }
        }
        func add<Record: ChangeRecord>(_ records: [Record], named ids: [UUID]?) {
            changes += records.map { .upsert($0, familyId: family) }
            // Notes are never deleted: a named note not read is one this worker may not read.
            guard let ids, Record.self != Components.Schemas.JudgmentNote.self else { return }
            let read = Set(records.map(\.id))
            changes += ids.filter { !read.contains($0.text) }.map { .delete(Record.self, id: $0.text, familyId: family) }
        }
        if case .some(let ids) = named(Components.Schemas.Family.self) {
            add(ids == nil || ids?.contains(familyId) == true ? [try await self.family(familyId)] : [], named: ids)
        }
        if case .some(let ids) = named(Components.Schemas.Person.self) {
            add(try await people(familyId: familyId, only: ids), named: ids)
        }
        if case .some(let ids) = named(Components.Schemas.Allocation.self) {
            add(try await allocations(familyId: familyId, only: ids), named: ids)
        }
        if case .some(let ids) = named(Components.Schemas.Contact.self) {
            add(try await contacts(familyId: familyId, only: ids), named: ids)
        }
        if case .some(let ids) = named(Components.Schemas.JudgmentNote.self) {
            let notes = try await notes(familyId: familyId, only: ids, access: access)
            throughBreakGlass = access.needsBreakGlass(.read, restricted: notes.contains { $0.audience == .restricted })
            add(notes, named: ids)
        }
        if case .some(let ids) = named(Components.Schemas.FamilyMessage.self) {
            add(try await familyMessages(familyId: familyId, only: ids), named: ids)
        }
        if case .some(let ids) = named(Components.Schemas.Conference.self) {
            add(try await conferences(familyId: familyId, only: ids), named: ids)
        }
        if case .some(let ids) = named(Components.Schemas.FamilyPlan.self) {
            add(try await plans(familyId: familyId, only: ids), named: ids)
        }
        return (changes, throughBreakGlass)
    }

    /// Open review items for the device's worker, as the access policy addresses them (quarantined work is a
    /// supervisor's, online): sent whole on every pull, so the device's list is simply replaced (a resolved item drops out).
    private func pulledReviewItems() async throws -> [Components.Schemas.PulledReviewItem] {
        try await reviewItems(limit: 500, includeQuarantined: false).map { row in
            .init(
                id: row.item.id, kind: .init(rawValue: row.item.kind.rawValue) ?? .rejected, familyId: row.item.familyId,
                mutationId: row.item.mutationId, summary: row.item.summary, reason: row.item.reason, payload: row.item.payload.map { .init(additionalProperties: $0.additionalProperties) })
        }
    }
}
