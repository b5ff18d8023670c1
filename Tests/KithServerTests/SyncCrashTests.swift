import Foundation
import KithAPI
import PostgresNIO
import Testing
@testable import KithServer

/// The real `kith-server` process, killed with SIGKILL while it applies a push: nothing of the push survives, and the
/// push re-sent to the restarted server takes effect exactly once.
@Suite struct SyncCrashTests {
    @Test func aServerKilledMidPushLosesNothingAndAppliesTheResendOnce() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
                let fixture = try await Fixture.seed(db, logger: TestDatabase.logger)
                let token = fixture.tokens[.priya]!
                var server = try await ServerProcess(databaseURL: url)

                func json(_ value: Any) throws -> Data { try JSONSerialization.data(withJSONObject: value) }
                var families: [String] = []
                for name in ["The Ahmed family", "The Brennan family"] {
                    let (status, body) = try await server.post("/v1/families", token: token, json: try json(["displayName": name]))
                    #expect(status == 201)
                    families.append(try Kith.decoder.decode(Components.Schemas.Family.self, from: body).id)
                }
                let (_, registered) = try await server.post(
                    "/v1/devices", token: token, json: try json(["name": "tablet", "platform": "test", "clientVersion": "1"]))
                let device = try Kith.decoder.decode(Components.Schemas.DeviceRegistration.self, from: registered)
                let mutations = (1...200).map { Mutation.note(Int64($0), family: families[$0 <= 100 ? 0 : 1], body: "Visit \($0)") }
                let push = try json(["protocol": 1, "deviceId": device.deviceId, "clientVersion": "1", "mutations": mutations])

                // A first pull grants the device both families (a grant, too, would wait for the row held below).
                let (pulled, _) = try await server.post("/v1/sync/pull", token: device.token, json: try json(["protocol": 1, "deviceId": device.deviceId]))
                #expect(pulled == 200)
                // Hold the second family's row, so the push stops at its 101st mutation (the second run of notes, which the
                // server writes in one statement) with 100 applied in its transaction.
                let second = UUID(uuidString: families[1])!
                let lock = try await HeldLock.hold("SELECT 1 FROM families WHERE id = \(second) FOR UPDATE", on: db)
                let pushURL = server.base + "/v1/sync/push"
                let pushing = Task { try? await ServerProcess.post(pushURL, token: device.token, json: push) }
                let waiting = try await waitUntil("the push to wait for the lock", within: .seconds(30)) {
                    let waiting = try await count(db, """
                        SELECT count(*) FROM pg_stat_activity
                        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%kith_write_notes%'
                        """)
                    return waiting > 0 ? waiting : nil
                }
                #expect(waiting == 1)
                server.kill()
                _ = await pushing.value
                try await lock.release()
                // The orphaned transaction ends when its backend finds the client gone.
                try await waitUntil("the killed server's transaction to end", within: .seconds(30)) {
                    try await count(db, """
                        SELECT count(*) FROM pg_stat_activity
                        WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
                        """) == 0
                }
                #expect(try await count(db, "SELECT count(*) FROM notes") == 0)
                #expect(try await count(db, "SELECT count(*) FROM sync_mutations") == 0)
                #expect(try await count(db, "SELECT last_applied_seq FROM devices") == 0)

                server = try await ServerProcess(databaseURL: url)
                let (status, body) = try await server.post("/v1/sync/push", token: device.token, json: push)
                #expect(status == 200)
                let applied = try Kith.decoder.decode(Components.Schemas.PushResponse.self, from: body)
                #expect(applied.results.count == 200 && applied.results.allSatisfy { $0.status == .applied })
                let (_, again) = try await server.post("/v1/sync/push", token: device.token, json: push)
                let resent = try Kith.decoder.decode(Components.Schemas.PushResponse.self, from: again)
                #expect(resent.results.allSatisfy { $0.status == .duplicate } && resent.lastAppliedSeq == 200)
                #expect(try await count(db, "SELECT count(*) FROM notes") == 200)
                #expect(try await count(db, "SELECT count(*) FROM note_revisions") == 200)
                server.kill()
            }
        }
    }

    private func count(_ db: PostgresClient, _ sql: String) async throws -> Int {
        try await db.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger).decode(Int.self).first { _ in true } ?? -1
    }
}
