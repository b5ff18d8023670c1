import Foundation
import KithAPI
import PostgresNIO
import Testing
@testable import KithServer

/// A failover or a restore gives the database a new history: transaction ids are handed out again below what devices'
/// cursors hold, so a cursor from before must not be trusted. These run real clusters on loopback ports
/// (`deploy/testing/wal-history.sh`): a streaming standby promoted after its primary stops, and a base backup brought up
/// by archive recovery. Both keep the cluster's system identifier and change only the WAL timeline.
@Suite(.serialized) struct WalHistoryTests {
    static func run(_ arguments: String...) async throws { try await Script.run("wal-history.sh", arguments) }


    @Test func aPromotedStandbyAndARestoredBackupMakeOldCursorsResetRequired() async throws {
        let root = "/tmp/kith-wal-\(UUID().uuidString.prefix(8))"
        do {
            try await Self.replay(in: root, ports: (Ports.free(), Ports.free(), Ports.free()))
        } catch {
            try? await Self.clean(root)
            throw error
        }
        try await Self.clean(root)
    }

    static func clean(_ root: String) async throws {
        for cluster in ["primary", "standby", "restored"] { try await run("destroy", "\(root)/\(cluster)") }
        try? FileManager.default.removeItem(atPath: root)
    }

    /// A device holds a cursor from the primary; then the standby is promoted and the backup restored.
    static func replay(in root: String, ports: (Int, Int, Int)) async throws {
        let (primaryPort, standbyPort, restoredPort) = ports
        try await run("primary", "\(root)/primary", "\(primaryPort)")
        let primary = "postgres://postgres@127.0.0.1:\(primaryPort)/postgres"
        let logger = TestDatabase.logger
        let fixture = try await withDatabase(AppConfig(databaseURL: primary), logger: logger) { db in
            try await Migrator(client: db, logger: logger).migrate()
            try await db.query("ALTER ROLE kith_server LOGIN", logger: logger)
            return try await Fixture.seed(db, logger: logger)
        }

        // On the primary: a device pulls its caseload and holds a cursor.
        let device = Held()
        try await Kith.serve(primary, fixture: fixture) { kith in
            let family = try await kith.openFamily()
            let tablet = try await FieldDevice.register(kith, as: .priya)
            let (pages, cursor) = try await tablet.pullAll(from: nil)
            #expect(pages.flatMap { $0.ids(.family) }.contains(family.id))
            await device.hold(id: tablet.id, token: tablet.token, cursor: cursor)
        }
        let held = try #require(await device.held)
        try await run("backup", "\(primaryPort)", "\(root)/restored")
        try await run("standby", "\(primaryPort)", "\(root)/standby", "\(standbyPort)")
        // Unplanned: the primary goes, the standby is promoted.
        try await run("stop", "\(root)/primary")
        try await run("promote", "\(root)/standby")
        try await run("recover", "\(root)/restored", "\(restoredPort)")

        for port in [standbyPort, restoredPort] {
            try await Kith.serve("postgres://postgres@127.0.0.1:\(port)/postgres", fixture: fixture) { kith in
                let device = FieldDevice(kith: kith, id: held.0, token: held.1)
                let response = try await device.post("/v1/sync/pull", ["protocol": 1, "deviceId": held.0, "cursor": held.2])
                #expect(response.status == .conflict, "on \(port): \(String(buffer: response.body))")
                #expect(try kith.problem(response).code == "reset_required")
                // The device starts again from an empty cursor and gets its families whole.
                let (pages, _) = try await device.pullAll(from: nil)
                #expect(!pages.flatMap { $0.ids(.family) }.isEmpty)
            }
        }
    }
}

/// What a device keeps between two servers of the test.
actor Held {
    var held: (String, String, String)?
    func hold(id: String, token: String, cursor: String) { held = (id, token, cursor) }
}
