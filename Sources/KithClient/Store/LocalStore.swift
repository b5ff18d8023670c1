import Foundation
import GRDB
import KithAPI
import OpenAPIRuntime

/// A device's copy of its worker's caseload and its outbox, in SQLite: what `docs/sync.md` asks a client to keep.
///
/// Writes made offline go to the outbox with the next sequence number; a mutation stays until a push response's
/// `lastAppliedSeq` covers it. A pulled page and its cursor are applied in one transaction, and a family is purged
/// only once none of its outbox entries is unconfirmed.
package final class LocalStore: Sendable {
    let db: DatabaseQueue

    /// Confirmed mutations are kept this long, for support, then dropped.
    static let confirmedRetention: TimeInterval = 30 * 86_400

    package init(path: String) throws {
        var configuration = Configuration()
        // Two `kith` commands at once (a sync in one terminal, a note in another) wait for each other.
        configuration.busyMode = .timeout(10)
        db = try DatabaseQueue(path: path, configuration: configuration)
        try Self.migrator.migrate(db)
    }

    /// A store that lives as long as the value (tests).
    package init() throws {
        db = try DatabaseQueue()
        try Self.migrator.migrate(db)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("1") { db in
            try db.execute(sql: """
                CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE outbox (
                    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, family_id TEXT,
                    grant_id TEXT, recorded_at TEXT NOT NULL, mutation TEXT NOT NULL, confirmed_at TEXT);
                CREATE INDEX outbox_unconfirmed ON outbox (family_id) WHERE confirmed_at IS NULL;
                -- `pending`: the outbox mutation that last changed the record here, until the server's copy arrives;
                -- `base`: the server's copy it changed (restored if the server rejects the mutation).
                CREATE TABLE records (
                    entity TEXT NOT NULL, id TEXT NOT NULL, family_id TEXT, data TEXT NOT NULL,
                    pending TEXT, base TEXT, PRIMARY KEY (entity, id));
                CREATE INDEX records_family ON records (family_id);
                CREATE TABLE grants (family_id TEXT PRIMARY KEY, grant_id TEXT NOT NULL);
                CREATE TABLE purges (family_id TEXT NOT NULL, grant_id TEXT PRIMARY KEY, purged INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE review_items (id TEXT PRIMARY KEY, item TEXT NOT NULL);
                """)
        }
        migrator.registerMigration("2") { db in
            // One server copy per record could not undo a rejected change made on top of another unsent one (a note
            // amended twice offline vanished when the second amendment was rejected): each unsent mutation now keeps
            // the record as it was before it (`data` NULL: it did not exist) and which mutation had made it so.
            try db.execute(sql: """
                CREATE TABLE undo (
                    mutation TEXT NOT NULL, entity TEXT NOT NULL, id TEXT NOT NULL, data TEXT, pending TEXT,
                    PRIMARY KEY (mutation, entity, id));
                INSERT INTO undo (mutation, entity, id, data, pending)
                    SELECT pending, entity, id, base, NULL FROM records WHERE pending IS NOT NULL;
                ALTER TABLE records DROP COLUMN base;
                """)
        }
        migrator.registerMigration("3") { db in
            try db.execute(sql: LocalStore.noteSearchSchema)
        }
        return migrator
    }

    // MARK: Settings

    package func setting(_ key: String) throws -> String? {
        try db.read { try String.fetchOne($0, sql: "SELECT value FROM settings WHERE key = ?", arguments: [key]) }
    }

    package func set(_ key: String, _ value: String?) throws {
        try db.write { try Self.set(key, value, in: $0) }
    }

    private static func set(_ key: String, _ value: String?, in db: Database) throws {
        if let value {
            try db.execute(sql: "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", arguments: [key, value])
        } else {
            try db.execute(sql: "DELETE FROM settings WHERE key = ?", arguments: [key])
        }
    }

    // MARK: Outbox

    /// A record as this device now shows it, written with the mutation that changed it.
    package struct LocalRecord: Sendable {
        let entity: Entity
        let id: String
        let familyId: String?
        let data: String

        package init(_ entity: Entity, id: String, familyId: String?, _ record: some Encodable) throws {
            self.entity = entity
            self.id = id
            self.familyId = familyId
            data = try LocalStore.json(record)
        }
    }

    package typealias Entity = Components.Schemas.ChangeEntity

    /// A write made on this device, and `shows`, the records as it leaves them, so that the device shows its own work
    /// before the server has it; the server's copies replace them when pulled.
    package struct Outgoing {
        let write: DeviceMutation
        let familyId: String?
        let shows: [LocalRecord]
        let recordedAt: Date

        package init(_ write: DeviceMutation, familyId: String?, shows: [LocalRecord] = [], recordedAt: Date = Date()) {
            (self.write, self.familyId, self.shows, self.recordedAt) = (write, familyId, shows, recordedAt)
        }
    }

    /// Records one write made on this device; it is pushed at the next sync. Its mutation's id.
    @discardableResult
    package func enqueue(
        _ write: DeviceMutation, familyId: String?, shows: [LocalRecord] = [], recordedAt: Date = Date()
    ) throws -> String {
        try enqueue([Outgoing(write, familyId: familyId, shows: shows, recordedAt: recordedAt)])[0]
    }

    /// Records writes that are one act (a visit and its note) in one transaction: all of them are kept, in order, or
    /// none. Their mutations' ids.
    @discardableResult
    package func enqueue(_ writes: [Outgoing]) throws -> [String] {
        try db.write { db in
            var seq = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM outbox") ?? 0
            return try writes.map { outgoing in
                seq += 1
                let id = UUID().uuidString.lowercased()
                try Self.enqueue(outgoing, id: id, seq: seq, in: db)
                return id
            }
        }
    }

    private static func enqueue(_ outgoing: Outgoing, id: String, seq: Int64, in db: Database) throws {
        let grant = try outgoing.familyId.flatMap {
            try String.fetchOne(db, sql: "SELECT grant_id FROM grants WHERE family_id = ?", arguments: [$0])
        }
        let mutation = Components.Schemas.Mutation(
            seq: seq, id: id, _type: outgoing.write.kind.rawValue, recordedAt: outgoing.recordedAt, grantId: grant,
            args: .init(additionalProperties: try outgoing.write.args()))
        try db.execute(
            sql: """
                INSERT INTO outbox (seq, id, type, family_id, grant_id, recorded_at, mutation)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                seq, id, outgoing.write.kind.rawValue, outgoing.familyId, grant, outgoing.recordedAt.formatted(.iso8601),
                try json(mutation),
            ])
        for record in outgoing.shows {
            let key: StatementArguments = [record.entity.rawValue, record.id]
            try db.execute(
                sql: """
                    INSERT INTO undo (mutation, entity, id, data, pending)
                    SELECT ?, ?, ?, (SELECT data FROM records WHERE entity = ? AND id = ?),
                           (SELECT pending FROM records WHERE entity = ? AND id = ?)
                    """,
                arguments: [id] + key + key + key)
            try db.execute(
                sql: """
                    INSERT INTO records (entity, id, family_id, data, pending) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (entity, id) DO UPDATE SET data = excluded.data, pending = excluded.pending
                    """,
                arguments: key + [record.familyId, record.data, id])
        }
    }

    /// The server kept these mutations (in sequence order) as review items instead of applying them: what they showed
    /// here is undone, newest first, back to what the record was before each. A record changed again since by another
    /// mutation keeps showing that one until the pull brings the server's copy.
    package func rejected(_ mutationIds: [String]) throws {
        try db.write { db in
            for id in mutationIds.reversed() {
                for before in try Row.fetchAll(db, sql: "SELECT entity, id, data, pending FROM undo WHERE mutation = ?", arguments: [id]) {
                    let key: StatementArguments = [before["entity"], before["id"], id]
                    if let data: String = before["data"] {
                        try db.execute(
                            sql: "UPDATE records SET data = ?, pending = ? WHERE entity = ? AND id = ? AND pending = ?",
                            arguments: [data, before["pending"] as String?] + key)
                    } else {
                        try db.execute(sql: "DELETE FROM records WHERE entity = ? AND id = ? AND pending = ?", arguments: key)
                    }
                }
                try db.execute(sql: "DELETE FROM undo WHERE mutation = ?", arguments: [id])
            }
        }
    }

    /// Mutations not yet covered by the server's `lastAppliedSeq`, in sequence order.
    package func unconfirmed(limit: Int = 500) throws -> [Components.Schemas.Mutation] {
        try db.read { db in
            try String.fetchAll(db, sql: "SELECT mutation FROM outbox WHERE confirmed_at IS NULL ORDER BY seq LIMIT ?", arguments: [limit])
                .map { try Self.decoder.decode(Components.Schemas.Mutation.self, from: Data($0.utf8)) }
        }
    }

    /// Unconfirmed outbox entries per family (nil: not about one family).
    package func pending() throws -> [String?: Int] {
        try db.read { db in
            var counts: [String?: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT family_id, count(*) AS n FROM outbox WHERE confirmed_at IS NULL GROUP BY family_id") {
                counts[row["family_id"] as String?] = row["n"]
            }
            return counts
        }
    }

    /// The server has applied (or kept) everything up to `lastAppliedSeq`.
    package func confirm(through lastAppliedSeq: Int64, now: Date = Date()) throws {
        try db.write { db in
            try db.execute(
                sql: "UPDATE outbox SET confirmed_at = ? WHERE seq <= ? AND confirmed_at IS NULL",
                arguments: [now.formatted(.iso8601), lastAppliedSeq])
            try db.execute(sql: "DELETE FROM undo WHERE mutation IN (SELECT id FROM outbox WHERE confirmed_at IS NOT NULL)")
            try db.execute(
                sql: "DELETE FROM outbox WHERE confirmed_at IS NOT NULL AND confirmed_at < ?",
                arguments: [now.addingTimeInterval(-Self.confirmedRetention).formatted(.iso8601)])
        }
    }

    /// The server's `lastAppliedSeq` is below what it once confirmed: it lost those pushes (a standby promoted before
    /// they reached it, a restore to an earlier point). Every confirmed mutation after it that is still kept (30 days)
    /// waits to be pushed again; the server applies each once. Returns how many.
    @discardableResult
    package func reopen(after lastAppliedSeq: Int64) throws -> Int {
        try db.write { db in
            try db.execute(
                sql: "UPDATE outbox SET confirmed_at = NULL WHERE confirmed_at IS NOT NULL AND seq > ?", arguments: [lastAppliedSeq])
            return db.changesCount
        }
    }

    /// Unconfirmed mutations, newest last, for showing what waits to be pushed.
    package func waiting() throws -> [(type: String, familyId: String?, recordedAt: String)] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT type, family_id, recorded_at FROM outbox WHERE confirmed_at IS NULL ORDER BY seq")
                .map { ($0["type"], $0["family_id"], $0["recorded_at"]) }
        }
    }

    /// This store now belongs to a new device registration (a new login): unconfirmed mutations are numbered again from
    /// 1 for it (their ids are kept, so anything the server already applied stays applied once), and the pulled state
    /// starts over from an empty cursor.
    package func startOverForNewDevice() throws {
        try db.write { db in
            try db.execute(sql: "DELETE FROM outbox WHERE confirmed_at IS NOT NULL")
            try db.execute(sql: "UPDATE outbox SET seq = -seq")
            let rows = try Row.fetchAll(db, sql: "SELECT seq, mutation FROM outbox ORDER BY seq DESC")
            for (index, row) in rows.enumerated() {
                var mutation = try Self.decoder.decode(Components.Schemas.Mutation.self, from: Data((row["mutation"] as String).utf8))
                mutation.seq = Int64(index + 1)
                mutation.grantId = nil
                try db.execute(
                    sql: "UPDATE outbox SET seq = ?, grant_id = NULL, mutation = ? WHERE seq = ?",
                    arguments: [mutation.seq, try Self.json(mutation), row["seq"] as Int64])
            }
            try Self.forgetPulledState(in: db)
            try db.execute(sql: "DELETE FROM purges")
            for key in ["lastAppliedSeq", "lastSyncAt", "workers"] { try Self.set(key, nil, in: db) }
        }
    }

    /// The server can no longer continue this device's feed (a restore, or a cursor too old): the next pull starts
    /// from nothing and brings every family in scope whole again. Local work still waiting is kept.
    package func restartFeed() throws {
        try db.write { try Self.forgetPulledState(in: $0) }
    }

    /// Keeps only what this device's unsent work shows; everything else comes again with the next pull.
    private static func forgetPulledState(in db: Database) throws {
        try db.execute(sql: """
            DELETE FROM records
            WHERE pending IS NULL OR pending NOT IN (SELECT id FROM outbox WHERE confirmed_at IS NULL)
            """)
        try db.execute(sql: "DELETE FROM grants")
        try db.execute(sql: "DELETE FROM review_items")
        try set("cursor", nil, in: db)
    }

    // MARK: Pulled state

    /// Applies a pulled page and its cursor together. Purge instructions are carried out once the family's outbox is
    /// drained; until then they wait (the server repeats them).
    package func apply(_ page: Components.Schemas.PullResponse) throws {
        try db.write { db in
            for change in page.changes {
                switch (change.op, change.record) {
                case (.upsert, let record?):
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO records (entity, id, family_id, data, pending) VALUES (?, ?, ?, ?, NULL)",
                        arguments: [change.entity.rawValue, change.id, change.familyId, try Self.json(record)])
                case (.upsert, nil), (.delete, _):
                    try db.execute(sql: "DELETE FROM records WHERE entity = ? AND id = ?", arguments: [change.entity.rawValue, change.id])
                }
            }
            try db.execute(sql: "DELETE FROM grants")
            for grant in page.scope.grants {
                try db.execute(sql: "INSERT INTO grants (family_id, grant_id) VALUES (?, ?)", arguments: [grant.familyId, grant.grantId])
            }
            for instruction in page.instructions where instruction._type == .purgeFamily {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO purges (family_id, grant_id) VALUES (?, ?)",
                    arguments: [instruction.familyId, instruction.grantId])
            }
            try Self.purgeDrainedFamilies(in: db)
            try db.execute(sql: "DELETE FROM review_items")
            for item in page.reviewItems {
                try db.execute(sql: "INSERT INTO review_items (id, item) VALUES (?, ?)", arguments: [item.id, try Self.json(item)])
            }
            try Self.set("cursor", page.cursor, in: db)
            try Self.set("lastAppliedSeq", String(page.lastAppliedSeq), in: db)
        }
    }

    private static func purgeDrainedFamilies(in db: Database) throws {
        let ready = try String.fetchAll(db, sql: """
            SELECT DISTINCT p.family_id FROM purges p
            WHERE p.purged = 0
              AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.family_id = p.family_id AND o.confirmed_at IS NULL)
              AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.family_id = p.family_id)
            """)
        for family in ready {
            try db.execute(sql: "DELETE FROM records WHERE family_id = ?", arguments: [family])
            try db.execute(sql: "UPDATE purges SET purged = 1 WHERE family_id = ?", arguments: [family])
        }
    }

    /// Purges carried out and not yet acknowledged to the server.
    package func purgesToAcknowledge() throws -> [(familyId: String, grantId: String)] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT family_id, grant_id FROM purges WHERE purged = 1").map { ($0["family_id"], $0["grant_id"]) }
        }
    }

    package func acknowledged(_ grantIds: [String]) throws {
        try db.write { db in
            for grant in grantIds { try db.execute(sql: "DELETE FROM purges WHERE grant_id = ?", arguments: [grant]) }
        }
    }

    /// Records the server has just answered an online write with, kept as if pulled: the device shows them at once,
    /// even when the change feed brings them only at a later sync.
    package func keep(_ records: [LocalRecord]) throws {
        try db.write { db in
            for record in records {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO records (entity, id, family_id, data, pending) VALUES (?, ?, ?, ?, NULL)",
                    arguments: [record.entity.rawValue, record.id, record.familyId, record.data])
            }
        }
    }

    /// Pulled records (and those changed here) as the REST API shapes them.
    package func records<Record: Decodable>(_ entity: Entity, familyId: String? = nil, as type: Record.Type) throws -> [Record] {
        try db.read { db in
            try String.fetchAll(
                db, sql: "SELECT data FROM records WHERE entity = ? AND (? IS NULL OR family_id = ?) ORDER BY id",
                arguments: [entity.rawValue, familyId, familyId]
            ).map { try Self.decoder.decode(type, from: Data($0.utf8)) }
        }
    }

    /// Ids of the records that work not yet pushed creates or changes (a note an amendment waits for, too).
    package func unsyncedIds() throws -> Set<String> {
        try db.read { db in
            Set(try String.fetchAll(db, sql: """
                SELECT value FROM outbox, json_each(json_object(
                    'id', json_extract(mutation, '$.args.id'), 'noteId', json_extract(mutation, '$.args.noteId'),
                    'personId', json_extract(mutation, '$.args.personId')))
                WHERE confirmed_at IS NULL AND value IS NOT NULL
                """))
        }
    }

    package func reviewItems() throws -> [Components.Schemas.PulledReviewItem] {
        try db.read { db in
            try String.fetchAll(db, sql: "SELECT item FROM review_items ORDER BY id")
                .map { try Self.decoder.decode(Components.Schemas.PulledReviewItem.self, from: Data($0.utf8)) }
        }
    }

    static func json(_ value: some Encodable) throws -> String { try KithJSON.text(value) }

    static let decoder = KithJSON.decoder()
}
