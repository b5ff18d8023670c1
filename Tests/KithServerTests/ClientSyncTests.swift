import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import KithClient
import KithCore
import NIOConcurrencyHelpers
import NIOCore
import OpenAPIRuntime
import PostgresNIO
import Testing
@testable import KithServer

/// The generated client's requests, answered by the application in-process (the same router a server runs).
/// `dropAnswers` names operations whose request reaches the server but whose answer never reaches the client, the way
/// it goes when the client is killed (or the network drops) while the server works.
struct RouterTransport: ClientTransport {
    struct ClientKilled: Error {}

    let client: any TestClientProtocol
    let token: String
    var dropAnswers: Set<String> = []

    func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String) async throws -> (HTTPResponse, HTTPBody?) {
        var headers = request.headerFields
        headers[.authorization] = "Bearer \(token)"
        var bytes: ByteBuffer?
        if let body { bytes = ByteBuffer(bytes: try await Data(collecting: body, upTo: 2 << 20)) }
        let response = try await client.execute(uri: request.path ?? "/", method: request.method, headers: headers, body: bytes)
        if dropAnswers.contains(operationID) { throw ClientKilled() }
        return (HTTPResponse(status: response.status, headerFields: response.headers), HTTPBody(Array(buffer: response.body)))
    }
}

/// A field device running the terminal client's library against the in-process server.
struct ClientDevice {
    let kith: Kith
    let device: FieldDevice
    let store: LocalStore
    let caseload: Caseload

    init(_ kith: Kith, device: FieldDevice, store: LocalStore, as who: Fixture.Who) throws {
        self.kith = kith
        self.device = device
        self.store = store
        caseload = try Caseload(store: store, workerId: kith.fixture.id(who).uuidString.lowercased())
    }

    var practice: Practice { Practice(caseload: caseload) }

    func engine(dropping answers: Set<String> = []) -> SyncEngine {
        let transport = RouterTransport(client: kith.client, token: device.token, dropAnswers: answers)
        let client = Client(serverURL: URL(string: "http://kith.test")!, transport: transport, middlewares: [Server.WaitWhenTold()])
        return SyncEngine(client: client, store: store, deviceId: device.id)
    }

    @discardableResult
    func sync() async throws -> SyncEngine.Summary { try await engine().sync() }

    /// Syncs until `done` holds: the feed reaches only below the oldest transaction running anywhere in the cluster
    /// (other tests' too), so what was just written may take a moment to arrive.
    func sync(until done: () throws -> Bool) async throws {
        try await waitUntil("the device to see what it waited for") {
            try await sync()
            return try done()
        }
    }
}

@Suite struct ClientSyncTests {
    /// Runs a sync that must die waiting for an answer (the generated client wraps what the transport threw).
    func expectKilled(_ sync: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async {
        let error = await #expect(throws: ClientError.self, sourceLocation: sourceLocation) { try await sync() }
        #expect(error?.underlyingError is RouterTransport.ClientKilled, sourceLocation: sourceLocation)
    }

    @Test func aWeekOfflineThenOneSyncAppliesEverythingOnceAndAReallocationPurgesAfterPushing() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let priya = try ClientDevice(kith, device: try await FieldDevice.register(kith, as: .priya), store: try LocalStore(), as: .priya)
            try await priya.sync { try priya.caseload.families().map(\.id) == [family.id] }

            // Offline: a visit with its note, two more notes, and an amendment of a note never pushed.
            let held = try priya.caseload.family(family.id)
            var visit = Practice.Visit(at: Date().addingTimeInterval(-86_400 * 5), kind: .homeVisit)
            visit.childSeen = true
            let (contact, monday) = try priya.practice.recordVisit(
                visit, in: held, note: NoteDraft(text: "Monday", sections: [.observed: "Calm house."]))
            for day in ["Tuesday", "Wednesday"] { try priya.practice.writeNote(NoteDraft(text: day), in: held) }
            try priya.practice.amend(try priya.caseload.note(monday!), with: NoteDraft(text: "Monday, after school"), reason: "time of visit")
            #expect(try priya.store.pending()[family.id] == 5)
            // The device shows its own work at once, marked as not yet on the server.
            let offline = try priya.caseload.timeline(of: family.id)
            #expect(offline.filter(\.unsynced).count == 4)
            #expect(try priya.caseload.note(monday!).revisions.count == 2)
            #expect(try priya.caseload.rows().first?.daysSinceLastContact == 5)

            let week = try await priya.sync()
            #expect(week.pushed == 5 && week.rejected == 0)
            #expect(try priya.store.pending().isEmpty)
            #expect(try await kith.count("SELECT count(*) FROM notes") == 3)
            #expect(try await kith.count("SELECT count(*) FROM note_revisions") == 4)
            #expect(try await kith.count("SELECT count(*) FROM contacts WHERE child_seen") == 1)
            #expect(try await kith.count("SELECT count(*) FROM notes WHERE contact_id = '\(contact)'") == 1)
            #expect(try priya.caseload.timeline(of: family.id).allSatisfy { !$0.unsynced })
            let again = try await priya.sync()
            #expect(again.pushed == 0)
            #expect(try await kith.count("SELECT count(*) FROM notes") == 3)

            // Reallocated while offline: the note written meanwhile is pushed first, then the family is purged.
            let allocations: ItemList<Components.Schemas.Allocation> = try await kith.send(.get, "/v1/families/\(family.id)/allocations", as: .sam)
            let _: Components.Schemas.Allocation = try await kith.send(
                .post, "/v1/allocations/\(allocations.items[0].id)/end", as: .sam,
                json: ["endedOn": CalendarDay.today.text, "reason": "caseload rebalanced"])
            try priya.practice.writeNote(NoteDraft(text: "Thursday"), in: held)
            let moved = try await priya.sync()
            #expect(moved.pushed == 1 && moved.purged == 1)
            #expect(try await kith.count("SELECT count(*) FROM notes WHERE late_after_reallocation") == 1)
            #expect(try priya.store.records(.note, as: Components.Schemas.JudgmentNote.self).isEmpty)
            #expect(try priya.caseload.families().isEmpty)
            #expect(try await kith.count("SELECT count(*) FROM audit_events WHERE entity = 'devicePurge'") == 1)
        }
    }

    @Test func pushesTheServerLostAreSentAgainAndAppliedOnce() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let priya = try ClientDevice(kith, device: try await FieldDevice.register(kith, as: .priya), store: try LocalStore(), as: .priya)
            try await priya.sync { try priya.caseload.families().map(\.id) == [family.id] }
            let held = try priya.caseload.family(family.id)
            for day in ["Monday", "Tuesday", "Wednesday"] { try priya.practice.writeNote(NoteDraft(text: day), in: held) }
            #expect(try await priya.sync().pushed == 3)
            #expect(try priya.store.pending().isEmpty)

            // The database comes back from a point before Tuesday's and Wednesday's pushes reached it (an asynchronous
            // standby promoted, a restore): the device was told they were applied and holds them as confirmed.
            try await kith.db.withTransaction(logger: TestDatabase.logger) { db in
                try await db.query("SET LOCAL session_replication_role = replica", logger: TestDatabase.logger)
                try await db.query(
                    "DELETE FROM notes WHERE id IN (SELECT note_id FROM note_revisions WHERE body IN ('Tuesday', 'Wednesday'))",
                    logger: TestDatabase.logger)
                try await db.query("DELETE FROM note_revisions WHERE body IN ('Tuesday', 'Wednesday')", logger: TestDatabase.logger)
                try await db.query("DELETE FROM sync_mutations WHERE seq > 1", logger: TestDatabase.logger)
                try await db.query("UPDATE devices SET last_applied_seq = 1", logger: TestDatabase.logger)
            }
            #expect(try await kith.count("SELECT count(*) FROM notes") == 1)

            // The next sync has nothing unconfirmed to push; the pull shows the server's lastAppliedSeq fell back, so the
            // two are sent again, and applied once.
            let resent = try await priya.sync()
            #expect(resent.pushed == 2 && resent.rejected == 0)
            #expect(try await kith.count("SELECT count(*) FROM notes") == 3)
            #expect(try await kith.count("SELECT count(*) FROM note_revisions WHERE body IN ('Tuesday', 'Wednesday')") == 2)
            #expect(try await kith.count("SELECT last_applied_seq::int FROM devices WHERE id = '\(priya.device.id)'") == 3)
            #expect(try await priya.sync().pushed == 0)
            #expect(try await kith.count("SELECT count(*) FROM notes") == 3)
        }
    }

    @Test func aPageAppliedTwiceChangesNothing() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let priya = try ClientDevice(kith, device: device, store: try LocalStore(), as: .priya)
            try await priya.sync { try !priya.caseload.families().isEmpty }
            let _: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(family.id)/notes", as: .priya, json: ["body": "Written at the office", "audience": "professional"],
                expect: .created)

            let cursor = try priya.store.setting("cursor")
            let (pages, _) = try await device.pullUntil(from: cursor) { pages in pages.contains { $0.changes.contains { $0.entity == .note } } }
            let page = try #require(pages.first { $0.changes.contains { $0.entity == .note } })
            try priya.store.apply(page)
            let once = try Snapshot(priya.store)
            try priya.store.apply(page)
            #expect(try Snapshot(priya.store) == once)
            #expect(once.records[.note]?.count == 1)
            #expect(try priya.caseload.notes(of: family.id).map(\.current.body) == ["Written at the office"])
        }
    }

    @Test func killingTheClientBetweenPushAndPullLosesNothing() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("kith-\(UUID().uuidString).sqlite").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            var priya = try ClientDevice(kith, device: device, store: try LocalStore(path: path), as: .priya)
            try await priya.sync { try !priya.caseload.families().isEmpty }
            let held = try priya.caseload.family(family.id)
            for day in ["Monday", "Tuesday"] { try priya.practice.writeNote(NoteDraft(text: day), in: held) }

            // The server applies the push; the client dies before it hears so, and before it pulls.
            await expectKilled { try await priya.engine(dropping: ["syncPush"]).sync() }
            #expect(try await kith.count("SELECT count(*) FROM notes") == 2)
            #expect(try priya.store.pending()[family.id] == 2)

            // Started again from what is on disk: the same mutations go again and count once.
            priya = try ClientDevice(kith, device: device, store: try LocalStore(path: path), as: .priya)
            try priya.practice.writeNote(NoteDraft(text: "Wednesday"), in: held)
            // This time it dies after the push was confirmed, before the pull.
            await expectKilled { try await priya.engine(dropping: ["syncPull"]).sync() }
            #expect(try priya.store.pending().isEmpty)
            #expect(try await kith.count("SELECT count(*) FROM notes") == 3)

            priya = try ClientDevice(kith, device: device, store: try LocalStore(path: path), as: .priya)
            try await priya.sync { try priya.caseload.timeline(of: family.id).filter { $0.kind == "note" }.allSatisfy { !$0.unsynced } }
            #expect(try priya.caseload.notes(of: family.id).map(\.current.body).sorted() == ["Monday", "Tuesday", "Wednesday"])
            #expect(try await kith.count("SELECT count(*) FROM notes") == 3)
            #expect(try await kith.count("SELECT last_applied_seq FROM devices") == 3)
        }
    }

    @Test func aRejectedWriteIsUndoneHereAndWaitsAsAReviewItem() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let priya = try ClientDevice(kith, device: try await FieldDevice.register(kith, as: .priya), store: try LocalStore(), as: .priya)
            try await priya.sync { try !priya.caseload.families().isEmpty }
            // Over the 64 KiB a note may hold: the server keeps it whole as a review item rather than applying it.
            let note = try priya.practice.writeNote(NoteDraft(text: String(repeating: "a", count: 70_000)), in: try priya.caseload.family(family.id))
            #expect(try priya.caseload.notes(of: family.id).map(\.id) == [note])
            let summary = try await priya.sync()
            #expect(summary.rejected == 1)
            #expect(try priya.caseload.notes(of: family.id).isEmpty)
            #expect(try priya.store.pending().isEmpty)
            #expect(try priya.store.reviewItems().map(\.kind) == [.rejected])
        }
    }

    @Test func aRejectedAmendmentIsUndoneAloneEvenWhenThePullNeverComes() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let priya = try ClientDevice(kith, device: try await FieldDevice.register(kith, as: .priya), store: try LocalStore(), as: .priya)
            try await priya.sync { try !priya.caseload.families().isEmpty }
            let held = try priya.caseload.family(family.id)
            func shown() throws -> Caseload.JudgmentNote? { try priya.caseload.notes(of: family.id).first }

            // Offline: a note, a correction, and a second correction over the 64 KiB a note may hold.
            let id = try priya.practice.writeNote(NoteDraft(text: "Saw the children at home."), in: held)
            try priya.practice.amend(try #require(try shown()), with: NoteDraft(text: "Saw the children at Nan's."), reason: "wrong house")
            try priya.practice.amend(try #require(try shown()), with: NoteDraft(text: String(repeating: "a", count: 70_000)), reason: "pasted")
            #expect(try shown()?.revisions.count == 3)

            // The push is answered (the note and the first correction applied, the second kept as a review item), then
            // the connection drops before the pull: the note stays, as the server has it.
            await expectKilled { try await priya.engine(dropping: ["syncPull"]).sync() }
            #expect(try shown()?.id == id)
            #expect(try shown()?.current.body == "Saw the children at Nan's.")
            #expect(try shown()?.revisions.count == 2)
            #expect(try await kith.count("SELECT count(*) FROM note_revisions") == 2)

            try await priya.sync()
            #expect(try shown()?.revisions.map(\.body) == ["Saw the children at home.", "Saw the children at Nan's."])
            #expect(try priya.store.reviewItems().map(\.kind) == [.rejected])
        }
    }

    @Test func aServerRestoredFromBackupStartsTheFeedAgainKeepingWhatWaits() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let priya = try ClientDevice(kith, device: try await FieldDevice.register(kith, as: .priya), store: try LocalStore(), as: .priya)
            try await priya.sync { try !priya.caseload.families().isEmpty }
            let cursor = try priya.store.setting("cursor")
            try priya.practice.writeNote(NoteDraft(text: "Written while the server was restored"), in: try priya.caseload.family(family.id))

            // After a restore the server answers the old cursor with 409 reset_required; the client starts again.
            try await Administration(db: kith.db, logger: TestDatabase.logger).startNewSyncGeneration()
            let summary = try await priya.sync()
            #expect(summary.pushed == 1)
            #expect(try priya.store.setting("cursor") != cursor)
            #expect(try priya.caseload.families().map(\.id) == [family.id])
            #expect(try priya.caseload.notes(of: family.id).map(\.current.body) == ["Written while the server was restored"])
            #expect(try await kith.count("SELECT count(*) FROM notes") == 1)
        }
    }

    @Test func signingInAgainSendsWhatWaitsUnderTheNewDeviceOnce() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let first = try await FieldDevice.register(kith, as: .priya, name: "laptop")
            let store = try LocalStore()
            let before = try ClientDevice(kith, device: first, store: store, as: .priya)
            try await before.sync { try !before.caseload.families().isEmpty }
            let held = try before.caseload.family(family.id)
            try before.practice.writeNote(NoteDraft(text: "Pushed, but the answer was lost"), in: held)
            await expectKilled { try await before.engine(dropping: ["syncPush"]).sync() }
            try before.practice.writeNote(NoteDraft(text: "Never pushed"), in: held)

            // `kith login` again: a new registration for the same store.
            try store.startOverForNewDevice()
            let after = try ClientDevice(kith, device: try await FieldDevice.register(kith, as: .priya, name: "laptop"), store: store, as: .priya)
            #expect(try store.unconfirmed().map(\.seq) == [1, 2])
            try await after.sync { try after.caseload.notes(of: family.id).count == 2 && after.store.unsyncedIds().isEmpty }
            #expect(try await kith.count("SELECT count(*) FROM notes") == 2)
        }
    }
}

/// Everything a store holds that a pull writes.
struct Snapshot: Equatable {
    var records: [LocalStore.Entity: [String]] = [:]
    var cursor: String?
    var reviewItems: [String]

    init(_ store: LocalStore) throws {
        for entity in LocalStore.Entity.allCases {
            records[entity] = try store.records(entity, as: OpenAPIValueContainer.self).map { String(decoding: try Self.encoder.encode($0), as: UTF8.self) }
        }
        cursor = try store.setting("cursor")
        reviewItems = try store.reviewItems().map(\.id)
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()
}
