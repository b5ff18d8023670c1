import Crypto
import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// Where a device is in its change feed, opaque to it and signed so it cannot be forged or altered.
///
/// The feed is read in windows: a window ends at `pg_snapshot_xmin` of the pull that opened it (every transaction with
/// a lower id has finished), and later pages of the window keep that bound, so they neither repeat nor skip. Between
/// windows the position is the previous window's bound. `grantsThrough` is the highest grant number whose family was
/// delivered whole. The epoch tells a cursor from another history of the database: the cluster's system identifier
/// (a new cluster), its WAL timeline (every promotion of a standby and the end of every archive recovery, so a failover
/// or a point-in-time restore, after which transaction ids are handed out again below what cursors hold), and the
/// organisation's sync generation (`new-sync-generation`, for a restore that changes neither).
struct PullCursor: Codable, Equatable, Sendable {
    var systemId: String
    /// Absent in cursors issued before the timeline was part of the epoch; those are taken as they were.
    var timeline: String?
    var generation: UUID
    var deviceId: UUID
    var afterXid: UInt64
    var afterSeq: Int64
    var windowEnd: UInt64?
    var grantsThrough: Int64
    /// The family after `grantsThrough` part-way delivered, larger than a page (`FamilySlices`).
    var within: FamilyPosition?
    var issuedAt: Date

    /// Change-log rows are kept at least this long; an older cursor may point at rows no longer there.
    static let retention: TimeInterval = 180 * 86_400

    /// Where a device's first pull starts; every later cursor is positioned at a horizon or a row.
    var isStart: Bool { afterXid == 0 && windowEnd == nil }

    static func start(_ epoch: SyncEpoch, deviceId: UUID) -> PullCursor {
        PullCursor(
            systemId: epoch.systemId, timeline: epoch.timeline, generation: epoch.generation, deviceId: deviceId, afterXid: 0, afterSeq: 0,
            windowEnd: nil, grantsThrough: 0, within: nil, issuedAt: Date())
    }

    func sealed(with key: Data) throws -> String {
        let encoder = KithJSON.encoder()
        // In seconds, as the cursors devices already hold were issued.
        encoder.dateEncodingStrategy = .secondsSince1970
        let payload = try encoder.encode(self)
        let mac = Data(HMAC<SHA256>.authenticationCode(for: payload, using: SymmetricKey(data: key)))
        return payload.base64URL + "." + mac.base64URL
    }

    /// Reads a cursor this server issued to this device, or says why it cannot be used.
    static func open(_ text: String, epoch: SyncEpoch, deviceId: UUID, now: Date = Date()) throws -> PullCursor {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let decoder = KithJSON.decoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        guard parts.count == 2, let payload = Data(base64URL: parts[0]), let mac = Data(base64URL: parts[1]),
              let cursor = try? decoder.decode(PullCursor.self, from: payload)
        else { throw KithError.invalidField("cursor", "is not a cursor this server issued") }
        // The epoch is read before the signature: a cursor from before a restore was signed with a key since replaced.
        // So an edited epoch also answers reset_required, which gives nothing away: the device's feed starts again.
        guard cursor.systemId == epoch.systemId, cursor.generation == epoch.generation,
              cursor.timeline.map({ $0 == epoch.timeline }) ?? true
        else {
            throw KithError.conflict(
                "reset_required", "The server's data was restored since this cursor was issued; push, then pull from an empty cursor.")
        }
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: payload, using: SymmetricKey(data: epoch.cursorKey)) else {
            throw KithError.invalidField("cursor", "has been altered")
        }
        guard cursor.deviceId == deviceId else { throw KithError.invalidField("cursor", "belongs to another device") }
        guard now.timeIntervalSince(cursor.issuedAt) <= retention else { throw expired }
        return cursor
    }

    static let expired = KithError(
        status: .gone, code: "cursor_expired",
        detail: "The change log no longer holds everything since this cursor (it keeps 180 days); push, then pull from an empty cursor.")
}

/// What makes cursors of one history of the database: the cluster, its timeline, the organisation's generation and its
/// signing key.
struct SyncEpoch: Sendable {
    let systemId: String
    let timeline: String
    let generation: UUID
    let cursorKey: Data
}

extension PostgresConnection {
    /// The organisation's sync epoch, created with a fresh random key the first time it is needed.
    func syncEpoch(_ organisationId: UUID, logger: Logger) async throws -> SyncEpoch {
        var key = Data(count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in key.indices { key[index] = UInt8.random(in: .min ... .max, using: &generator) }
        // The row made now, or the one there already (a CTE's insert is not visible to the rest of its statement).
        let rows = try await query(
            SyncEpochRead.self,
            """
            WITH made AS (
                INSERT INTO sync_generations (organisation_id, cursor_key) VALUES (\(organisationId), \(key))
                ON CONFLICT (organisation_id) DO NOTHING
                RETURNING generation, cursor_key
            ), generation AS (
                SELECT generation, cursor_key FROM made
                UNION ALL
                SELECT generation, cursor_key FROM sync_generations WHERE organisation_id = \(organisationId)
            )
            SELECT (SELECT system_identifier::text FROM pg_control_system()),
                   -- The current timeline, from the WAL file being written: pg_control_checkpoint() still shows the old
                   -- one until the first checkpoint after a promotion.
                   substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8), generation, cursor_key
            FROM generation LIMIT 1
            """, logger: logger)
        guard let (system, timeline, generation, cursorKey) = try rows.first?.decode((String, String, UUID, Data).self) else {
            throw KithError.notFound
        }
        return SyncEpoch(systemId: system, timeline: timeline, generation: generation, cursorKey: cursorKey)
    }

    /// After restoring a backup: every organisation gets a new generation and key when it next syncs, so every
    /// device's cursor answers 409 `reset_required` and devices start their feeds again (pushing what they hold first).
    func startNewSyncGeneration(logger: Logger) async throws {
        try await query("SELECT kith_start_new_sync_generation()", logger: logger)
    }
}

/// The organisation's sync epoch, read by every push and pull.
enum SyncEpochRead: HotStatement {}
