import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HTTPTypes
import KithAPI
import KithClient
import PostgresNIO
import Testing
@testable import KithServer

/// What one client, or one lock, may cost everyone else: a lock held elsewhere costs the requests that meet it their
/// lock timeout and leaves the pool to the rest; a silent or slow connection is closed; a large body from someone
/// without a valid token is never read; a device syncing in a loop is told to wait; an idle transaction anywhere holding
/// the feed back is seen in `/metrics`.
@Suite struct LimitsTests {
    @Test func aLockHeldElsewhereCostsTheRequestsThatMeetItTheirTimeoutAndLeavesThePoolToTheRest() async throws {
        try await Kith.run({ config in
            config.databasePoolSize = 2
            config.timeouts.lock = .seconds(1)
            config.timeouts.statement = .seconds(600)
        }) { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            _ = try await device.pull(cursor: nil)
            let push = try JSONSerialization.data(withJSONObject: [
                "protocol": 1, "deviceId": device.id, "clientVersion": "1", "mutations": [Mutation.note(1, family: family.id, body: "Pushed")],
            ])
            // An operator's migration, say, holding the notes table.
            let lock = try await HeldLock.notes(on: kith.db)
            // Seven requests that meet the lock on a pool of two: notes' POSTs and timeline pages, each one statement, and a
            // device's push, a transaction that first waits its turn on the device's own lock (with a longer wait) and
            // then meets the notes' lock with the usual one. No statement timeout would end any of them.
            let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?, String).self) { group in
                for index in 0..<6 {
                    group.addTask {
                        let response = index.isMultiple(of: 2)
                            ? try await kith.request(.post, "/v1/families/\(family.id)/notes", as: .priya, json: ["body": "Note \(index)"])
                            : try await kith.request(.get, "/v1/families/\(family.id)/timeline", as: .priya)
                        return (response.status, response.headers[.retryAfter], String(buffer: response.body))
                    }
                }
                group.addTask {
                    let response = try await kith.request(.post, "/v1/sync/push", token: device.token, body: push)
                    return (response.status, response.headers[.retryAfter], String(buffer: response.body))
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for (status, retryAfter, body) in statuses {
                #expect(status == .serviceUnavailable, "\(body)")
                #expect(retryAfter == "5")
                #expect(body.contains("\"code\":\"timeout\""))
            }
            // While it is still held, what does not need the table answers.
            let families = try await kith.request(.get, "/v1/families", as: .priya)
            #expect(families.status == .ok)
            let me = try await kith.request(.get, "/v1/me", as: .tom)
            #expect(me.status == .ok)
            try await lock.release()
            // Nothing of the refused writes was kept; the next one is.
            #expect(try await kith.count("SELECT count(*) FROM notes") == 0)
            let written = try await kith.request(.post, "/v1/families/\(family.id)/notes", as: .priya, json: ["body": "After"])
            #expect(written.status == .created)
        }
    }

    @Test func silentAndStalledConnectionsAreClosedAndALargeBodyWaitsForItsToken() async throws {
        try await TestDatabase.withFreshDatabase { url in
            let fixture = try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) {
                try await Fixture.seed($0, logger: TestDatabase.logger)
            }
            let server = try await ServerProcess(databaseURL: url, environment: ["KITH_HTTP_IDLE_TIMEOUT": "1"])
            defer { server.kill() }
            // A connection that never sends a request, and one whose request's head never ends: closed by the server.
            let silent = try RawConnection(port: server.port)
            #expect(try silent.readUntilClosed(within: 10) == "")
            let stalled = try RawConnection(port: server.port)
            try stalled.send("GET /v1/families HTTP/1.1\r\nHost: kith\r\n")
            #expect(try stalled.readUntilClosed(within: 10) == "")

            // A megabyte announced with a token that stands for nothing: refused before a byte of it is sent.
            let stranger = try RawConnection(port: server.port)
            try stranger.send(Self.pushHead(token: Tokens.generate(), length: 1_000_000))
            let refused = try stranger.readUntilClosed(within: 10)
            #expect(refused.hasPrefix("HTTP/1.1 401"), "\(refused)")

            // With a token that stands, the server waits for the body (and closes a connection whose body stalls).
            let worker = try RawConnection(port: server.port)
            try worker.send(Self.pushHead(token: fixture.tokens[.priya]!, length: 1_000_000) + String(repeating: " ", count: 1000))
            let waited = try worker.readUntilClosed(within: 10)
            #expect(!waited.contains("401"), "\(waited)")
        }
    }

    @Test func aRequestTrickledAByteAtATimeIsClosedAtTheReadTimeoutAndAServedOneIsNot() async throws {
        try await TestDatabase.withFreshDatabase { url in
            let server = try await ServerProcess(
                databaseURL: url, environment: ["KITH_HTTP_IDLE_TIMEOUT": "60", "KITH_HTTP_READ_TIMEOUT": "2"])
            defer { server.kill() }
            // Never idle, never done: a head, then a body, a byte every quarter of a second. Closed within the loop's 15 s,
            // it was the read timeout that closed it, not the idle timeout's minute (however slow a busy machine is).
            let head = "GET /healthz HTTP/1.1\r\nHost: kith\r\nX-Waiting: " + String(repeating: "w", count: 200) + "\r\n\r\n"
            let body = "POST /v1/sessions HTTP/1.1\r\nHost: kith\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n"
            for (request, sentAtOnce) in [(head, 0), (body, body.utf8.count)] {
                let trickler = try RawConnection(port: server.port)
                try trickler.send(String(request.prefix(sentAtOnce)))
                var sent = sentAtOnce
                let started = ContinuousClock.now
                while !trickler.closedByServer, ContinuousClock.now - started < .seconds(15) {
                    try? trickler.send(sent < request.utf8.count ? String(Array(request)[sent]) : " ")
                    sent += 1
                    try await Task.sleep(for: .milliseconds(250))
                }
                #expect(trickler.closedByServer, "still open after \(sent) bytes")
            }

            // A request that arrived is not held to the read timeout while it is served or after: the connection waits
            // for the next one until the idle timeout.
            let client = try RawConnection(port: server.port)
            for _ in 1...2 {
                try client.send("GET /healthz HTTP/1.1\r\nHost: kith\r\n\r\n")
                #expect(try client.receive(within: 10).hasPrefix("HTTP/1.1 200"))
                try await Task.sleep(for: .seconds(4))
            }
            #expect(!client.closedByServer)
        }
    }

    @Test func aPullWhoseDeviceHungUpStops() async throws {
        try await TestDatabase.withFreshDatabase { url in
            let fixture = try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) {
                try await Fixture.seed($0, logger: TestDatabase.logger)
            }
            let server = try await ServerProcess(databaseURL: url)
            defer { server.kill() }
            let token = fixture.tokens[.priya]!
            // Two groups of families to deliver: the pull looks for its device between them.
            for number in 1...(Records.familiesReadTogether + 1) {
                let created = try await HTTP.send(server.base, .post, "/v1/families", token: token, json: ["displayName": "Family \(number)"])
                #expect(created.status == 201)
            }
            let registered = try await HTTP.send(
                server.base, .post, "/v1/devices", token: token, json: ["name": "tablet", "platform": "test", "clientVersion": "1"])
            let device = try Kith.decoder.decode(Components.Schemas.DeviceRegistration.self, from: registered.body)
            let port = server.port
            try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
                let lock = try await HeldLock.notes(on: db)
                let pull = try JSONSerialization.data(withJSONObject: ["protocol": 1, "deviceId": device.deviceId])
                let tablet = try RawConnection(port: port)
                try tablet.send(
                    "POST /v1/sync/pull HTTP/1.1\r\nHost: kith\r\nAuthorization: Bearer \(device.token)\r\n"
                        + "Content-Type: application/json\r\nContent-Length: \(pull.count)\r\n\r\n" + String(decoding: pull, as: UTF8.self))
                // The device hangs up while its pull waits inside the first group.
                let waiting = try await waitUntil("the pull to wait for the lock", within: .seconds(30)) {
                    let waiting = try await db.query(
                        """
                        SELECT count(*)::int FROM pg_stat_activity
                        WHERE wait_event_type = 'Lock' AND datname = current_database() AND usename = 'kith_server'
                        """,
                        logger: TestDatabase.logger
                    ).decode(Int.self).first { _ in true } ?? 0
                    return waiting > 0 ? waiting : nil
                }
                #expect(waiting == 1)
                tablet.hangUp()
                // A moment for the server to see the connection close, on a machine as busy as the test suite makes it.
                try await Task.sleep(for: .seconds(4))
                try await lock.release()
                // Nothing more is read for nobody: the pull stopped before the second group, and its reads were not audited.
                try await Task.sleep(for: .seconds(2))
                let audited = try await db.query(
                    "SELECT count(*)::int FROM audit_events WHERE entity = 'sync'", logger: TestDatabase.logger
                ).decode(Int.self).first { _ in true }
                #expect(audited == 0)
                let waitingOrRunning = try await db.query(
                    "SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()",
                    logger: TestDatabase.logger
                ).decode(Int.self).first { _ in true }
                #expect(waitingOrRunning == 0)
            }
        }
    }

    static func pushHead(token: String, length: Int) -> String {
        "POST /v1/sync/push HTTP/1.1\r\nHost: kith\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(length)\r\n\r\n"
    }

    @Test func aDeviceSyncingInALoopIsToldToWait() async throws {
        // One a minute for a device, two for its worker: nothing refills within the test.
        try await Kith.run({ $0.syncRequestsPerMinute = 1 }) { kith in
            var devices: [FieldDevice] = []
            for name in ["tablet", "phone", "laptop"] { devices.append(try await FieldDevice.register(kith, as: .priya, name: name)) }
            func pull(_ device: FieldDevice) async throws -> (HTTPResponse.Status, Int?) {
                let body = try JSONSerialization.data(withJSONObject: ["protocol": 1, "deviceId": device.id])
                let response = try await kith.request(.post, "/v1/sync/pull", token: device.token, body: body)
                if response.status == .tooManyRequests { #expect(String(buffer: response.body).contains("\"code\":\"too_many_requests\"")) }
                return (response.status, response.headers[.retryAfter].flatMap(Int.init))
            }
            #expect(try await pull(devices[0]).0 == .ok)
            // The same device again at once: told to wait, about a minute.
            let again = try await pull(devices[0])
            #expect(again.0 == .tooManyRequests)
            #expect(again.1.map { (1...60).contains($0) } == true, "Retry-After: \(again.1.map(String.init) ?? "none")")
            // Another of the worker's devices has its own allowance; a third finds the worker's (twice a device's) spent.
            #expect(try await pull(devices[1]).0 == .ok)
            #expect(try await pull(devices[2]).0 == .tooManyRequests)
            // Another worker is not held back by her.
            let toms = try await FieldDevice.register(kith, as: .tom)
            #expect(try await pull(toms).0 == .ok)
        }
    }

    /// The limiters' arithmetic on a clock of the test's own, not the machine's.
    @Test func aSyncBucketRefillsOverTheMinuteAndAPageViewWindowOpensAgainAfterIt() async throws {
        let rate = SyncRate(perMinute: 2)
        let worker = UUID()
        func device() throws -> SyncDevice {
            try SyncDevice(Principal(
                organisationId: UUID(), workerId: worker, sessionId: UUID(), deviceId: UUID(), roles: [.practitioner], teamIds: []))
        }
        let tablet = try device(), phone = try device(), laptop = try device()
        let start = ContinuousClock.now
        func wait(_ device: SyncDevice, at seconds: Int) -> Int? {
            do {
                try rate.admit(device, now: start + .seconds(seconds))
                return nil
            } catch let error as KithError {
                return error.retryAfterSeconds ?? -1
            } catch {
                return -1
            }
        }
        // A device: two at once, then one every thirty seconds.
        #expect(wait(tablet, at: 0) == nil && wait(tablet, at: 0) == nil)
        #expect(wait(tablet, at: 0) == 30)
        #expect(wait(tablet, at: 15) == 15)
        // Its worker (four a minute, across devices): another device's two take the rest, and a third waits.
        #expect(wait(phone, at: 0) == nil && wait(phone, at: 0) == nil)
        #expect(wait(laptop, at: 0) == 15)
        #expect(wait(laptop, at: 15) == nil)
        #expect(wait(tablet, at: 30) == nil)

        let views = ViewLimiter()
        let session = UUID()
        for _ in 0..<ViewLimiter.perMinute { #expect(await views.allow(session, now: start)) }
        #expect(await !views.allow(session, now: start + .seconds(59)))
        #expect(await views.allow(session, now: start + .seconds(60)))
    }

    @Test func firstSyncsBeyondTheirNumberAreToldToComeBack() async throws {
        try await Kith.run({ $0.wholeFamilyPulls = 1 }) { kith in
            _ = try await kith.openFamily()
            let tablet = try await FieldDevice.register(kith, as: .priya)
            let phone = try await FieldDevice.register(kith, as: .priya, name: "phone")
            // The first sync is held inside its delivery by a lock on the notes it reads.
            let lock = try await HeldLock.notes(on: kith.db)
            let tabletPull = try JSONSerialization.data(withJSONObject: ["protocol": 1, "deviceId": tablet.id])
            let phonePull = try JSONSerialization.data(withJSONObject: ["protocol": 1, "deviceId": phone.id])
            let first = Task { try await kith.request(.post, "/v1/sync/pull", token: tablet.token, body: tabletPull) }
            #expect(try await lock.waiters(in: kith) == 1)
            let second = try await kith.request(.post, "/v1/sync/pull", token: phone.token, body: phonePull)
            #expect(second.status == .serviceUnavailable)
            #expect(second.headers[.retryAfter] == "5")
            #expect(String(buffer: second.body).contains("\"code\":\"busy\""))
            try await lock.release()
            #expect(try await first.value.status == .ok)
            let again = try await kith.request(.post, "/v1/sync/pull", token: phone.token, body: phonePull)
            #expect(again.status == .ok)
        }
    }

    @Test func theTerminalClientWaitsWhenToldAndSyncs() async throws {
        try await Kith.run({ $0.wholeFamilyPulls = 1 }) { kith in
            let family = try await kith.openFamily()
            let tablet = try await FieldDevice.register(kith, as: .priya)
            let lock = try await HeldLock.notes(on: kith.db)
            // Another device's first sync holds the only turn, waiting on the lock.
            let first = Task { try await tablet.post("/v1/sync/pull", ["protocol": 1, "deviceId": tablet.id]) }
            #expect(try await lock.waiters(in: kith) == 1)
            // The client is told `busy`, Retry-After 5, while the turn is taken; the turn ends a second later.
            let phone = try ClientDevice(kith, device: try await FieldDevice.register(kith, as: .priya, name: "phone"), store: try LocalStore(), as: .priya)
            let syncing = Task { try await phone.sync() }
            try await Task.sleep(for: .seconds(1))
            try await lock.release()
            #expect(try await first.value.status == .ok)
            let summary = try await syncing.value
            #expect(summary.changes > 0)
            #expect(try phone.caseload.families().map(\.id) == [family.id])
        }
    }

    @Test func anIdleTransactionAnywhereInTheClusterIsSeenAsTheFeedsLag() async throws {
        try await Kith.run { kith in
            let (begun, begunSignal) = AsyncStream<Void>.makeStream()
            let (release, releaseSignal) = AsyncStream<Void>.makeStream()
            // A psql left open in another database, holding a transaction id.
            let other = TestDatabase.url(database: "postgres")
            let holder = Task<Void, any Error> {
                try await withDatabase(AppConfig(databaseURL: other), logger: TestDatabase.logger) { db -> Void in
                    try await db.withTransaction(logger: TestDatabase.logger) { connection -> Void in
                        _ = try await connection.query("SELECT pg_current_xact_id()", logger: TestDatabase.logger)
                        begunSignal.yield()
                        for await _ in release { break }
                    }
                }
            }
            for await _ in begun { break }
            try await Task.sleep(for: .seconds(2))
            let metrics = try await kith.request(.get, "/metrics", as: nil)
            let text = String(buffer: metrics.body)
            let line = text.split(separator: "\n").first { $0.hasPrefix("sync_horizon_lag_seconds ") }
            let lag = line.flatMap { Double(String($0.split(separator: " ").last ?? "")) } ?? -1
            #expect(lag >= 2, "sync_horizon_lag_seconds: \(lag)")
            releaseSignal.yield()
            try await holder.value
        }
    }
}

/// A plain TCP connection to the server on loopback, to send exactly what a slow or hostile client would.
final class RawConnection {
    private let socket: Int32

    init(port: Int) throws {
        // Not inherited by the processes other tests start meanwhile: a copy of it there would keep it open after `hangUp`.
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw KithError.invalidField("port", "could not connect to \(port)") }
    }

    private var open = true

    deinit { hangUp() }

    func hangUp() {
        if open {
            shutdown(socket, Int32(SHUT_RDWR))
            close(socket)
        }
        open = false
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard Glibc.send(socket, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else {
            throw KithError.invalidField("socket", "could not send")
        }
    }

    /// Whether the server closed the connection (nothing waits to be read, and the socket has reached its end).
    var closedByServer: Bool {
        var byte: UInt8 = 0
        let count = recv(socket, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    /// What the server sent in one read, waiting up to `seconds` for it.
    func receive(within seconds: Int) throws -> String {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(socket, &buffer, buffer.count, 0)
        guard count > 0 else { throw KithError.invalidField("socket", "nothing received within \(seconds) s") }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// Everything the server sends until it closes the connection; fails if it is still open after `seconds`.
    func readUntilClosed(within seconds: Int) throws -> String {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(socket, &buffer, buffer.count, 0)
            if count == 0 { break }
            if count < 0 {
                // ECONNRESET: closed too.
                if errno == ECONNRESET { break }
                throw KithError.invalidField("socket", "still open after \(seconds) s")
            }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }
}

/// A lock held by another connection's transaction until released: the notes table, as a migration or an operator's
/// `LOCK TABLE` holds it, or whatever `statement` locks.
final class HeldLock: Sendable {
    private let releasing: AsyncStream<Void>.Continuation
    private let holder: Task<Void, any Error>

    private init(releasing: AsyncStream<Void>.Continuation, holder: Task<Void, any Error>) {
        self.releasing = releasing
        self.holder = holder
    }

    static func notes(on db: PostgresClient) async throws -> HeldLock {
        try await hold("LOCK TABLE notes IN ACCESS EXCLUSIVE MODE", on: db)
    }

    static func hold(_ statement: PostgresQuery, on db: PostgresClient) async throws -> HeldLock {
        let (locked, lockedSignal) = AsyncStream<Void>.makeStream()
        let (release, releaseSignal) = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await db.withTransaction(logger: TestDatabase.logger) { connection in
                try await connection.query(statement, logger: TestDatabase.logger)
                lockedSignal.yield()
                for await _ in release { break }
            }
        }
        for await _ in locked { break }
        return HeldLock(releasing: releaseSignal, holder: holder)
    }

    /// How many connections of the test's database wait for a lock, once one does.
    func waiters(in kith: Kith) async throws -> Int {
        try await waitUntil("a request to wait for the lock", within: .seconds(30)) {
            let waiting = try await kith.count(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
            return waiting > 0 ? waiting : nil
        }
    }

    func release() async throws {
        releasing.yield()
        try await holder.value
    }
}
