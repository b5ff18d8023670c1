import Foundation
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KithAPI
import PostgresNIO
import Synchronization
import Testing
@testable import KithServer

/// The real `kith-server` in front of a PostgreSQL cluster of the test's own (`deploy/testing/wal-history.sh`), which
/// the test crashes, stops and starts again under it: every request answers within its bound, with 503 and
/// `Retry-After` while the database is at fault, and the server recovers by itself. The bounds are the clients':
/// a request that does not answer within one fails the test.
@Suite(.serialized) struct FailFastTests {
    /// A cluster, migrated and seeded, on a loopback port; destroyed after `body`.
    static func withCluster(_ body: (_ root: String, _ port: Int, _ url: String, Fixture) async throws -> Void) async throws {
        let (root, port) = try await Ports.retrying { port in
            let root = "/tmp/kith-failfast-\(UUID().uuidString.prefix(8))"
            do {
                try await WalHistoryTests.run("primary", root, "\(port)")
                return (root, port)
            } catch {
                try? await WalHistoryTests.run("destroy", root)
                throw error
            }
        }
        do {
            let url = "postgres://postgres@127.0.0.1:\(port)/postgres"
            let fixture = try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
                try await Migrator(client: db, logger: TestDatabase.logger).migrate()
                try await db.query("ALTER ROLE kith_server LOGIN", logger: TestDatabase.logger)
                return try await Fixture.seed(db, logger: TestDatabase.logger)
            }
            try await body(root, port, url, fixture)
        } catch {
            try? await WalHistoryTests.run("destroy", root)
            throw error
        }
        try await WalHistoryTests.run("destroy", root)
    }

    @Test func aDatabaseThatCrashesStopsAndComesBackCostsRequestsA503AndTheServerRecoversByItself() async throws {
        try await Self.withCluster { root, port, url, fixture in
            let server = try await ServerProcess(
                databaseURL: url, environment: ["KITH_DB_ACQUIRE_TIMEOUT": "2", "KITH_DB_POOL_SIZE": "4"])
            defer { server.kill() }
            let base = server.base
            let token = fixture.tokens[.priya]!
            let created = try await HTTP.send(base, .post, "/v1/families", token: token, json: ["displayName": "The Ahmed family"])
            #expect(created.status == 201)
            let family = try Kith.decoder.decode(Components.Schemas.Family.self, from: created.body)

            for (stopping, how) in [("stop", "a crash"), ("shutdown", "a planned restart")] {
                try await WalHistoryTests.run(stopping, root)
                // Every request answers within its bound (the acquire timeout, two seconds here; the client gives up
                // at ten), as 503 with Retry-After: a read, a write, a sync and the readiness probe.
                for (method, path, body) in [
                    (HTTP.Method.get, "/v1/families", nil), (.post, "/v1/families/\(family.id)/notes", ["body": "After \(how)"]),
                    (.get, "/v1/families/\(family.id)/timeline", nil),
                ] as [(HTTP.Method, String, [String: Any]?)] {
                    let answer = try await HTTP.send(base, method, path, token: token, json: body, timeout: 10)
                    #expect(answer.status == 503, "\(method) \(path) after \(how)")
                    #expect(answer.header("Retry-After") == "5")
                    #expect(answer.header("Content-Type") == "application/problem+json")
                }
                let probe = try await HTTP.send(base, .get, "/readyz", timeout: 3)
                #expect(probe.status == 503, "readyz after \(how)")
                // Back by itself: nobody restarts the server.
                try await WalHistoryTests.run("start", root, "\(port)")
                let ready = try await HTTP.eventually(base, .get, "/readyz") { $0.status == 200 }
                #expect(ready.status == 200)
                let written = try await HTTP.eventually(
                    base, .post, "/v1/families/\(family.id)/notes", token: token, json: ["body": "Back after \(how)"]) { $0.status != 503 }
                #expect(written.status == 201, "a note after \(how): \(written.text)")
                let listed = try await HTTP.send(base, .get, "/v1/families", token: token)
                #expect(listed.status == 200)
            }
        }
    }

    @Test func aDatabaseThatFreezesWithItsConnectionsOpenCostsARequestItsBoundNotForever() async throws {
        try await Self.withCluster { root, _, url, fixture in
            // Statements of two seconds: a connection held past 2 × 2 + 10 s is closed under its request.
            let server = try await ServerProcess(
                databaseURL: url, environment: ["KITH_STATEMENT_TIMEOUT": "2", "KITH_DB_POOL_SIZE": "2", "KITH_DB_POOL_MIN": "2"])
            defer { server.kill() }
            let token = fixture.tokens[.priya]!
            #expect(try await HTTP.send(server.base, .get, "/v1/families", token: token).status == 200)
            // Every process of the cluster stopped, its sockets open: nothing answers, nothing closes, no timeout of
            // PostgreSQL's can fire (a frozen host, a partition).
            let processes = Self.processes(of: root)
            #expect(!processes.isEmpty)
            for pid in processes { kill(pid, SIGSTOP) }
            let frozen = try? await HTTP.send(server.base, .get, "/v1/families", token: token, timeout: 40)
            for pid in processes { kill(pid, SIGCONT) }
            #expect(frozen?.status == 503, "\(frozen.map { "\($0.status) \($0.text)" } ?? "no answer within 40 s")")
            let back = try await HTTP.eventually(server.base, .get, "/v1/families", token: token) { $0.status == 200 }
            #expect(back.status == 200)
        }
    }

    /// The postmaster of the cluster in `root` and every process it started.
    static func processes(of root: String) -> [pid_t] {
        guard let text = try? String(contentsOfFile: root + "/postmaster.pid", encoding: .utf8),
              let postmaster = text.split(separator: "\n").first.flatMap({ pid_t($0) })
        else { return [] }
        let children = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == postmaster ? pid : nil
        }
        return [postmaster] + children
    }

    @Test func requestsInFlightWhenTheDatabaseCrashesAllAnswerAndSIGTERMDrainsWithinItsBound() async throws {
        try await Self.withCluster { root, port, url, fixture in
            let server = try await ServerProcess(
                databaseURL: url, environment: ["KITH_DB_ACQUIRE_TIMEOUT": "2", "KITH_DB_POOL_SIZE": "4", "KITH_DRAIN_TIMEOUT": "3",
                              "KITH_LOCK_TIMEOUT": "600", "KITH_STATEMENT_TIMEOUT": "600"])
            defer { server.kill() }
            let base = server.base
            let token = fixture.tokens[.priya]!
            let created = try await HTTP.send(base, .post, "/v1/families", token: token, json: ["displayName": "The Brennan family"])
            let family = try Kith.decoder.decode(Components.Schemas.Family.self, from: created.body)
            // Twelve writers on four connections, each writing until the crash and a moment after.
            let crashed = Flag()
            let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
                for writer in 0..<12 {
                    group.addTask {
                        var seen: [Int] = []
                        var index = 0
                        var afterCrash = 0
                        while afterCrash < 3 {
                            if crashed.isSet { afterCrash += 1 }
                            index += 1
                            // Not answered within the client's fifteen seconds: -1.
                            let answer = try? await HTTP.send(
                                base, .post, "/v1/families/\(family.id)/notes", token: token,
                                json: ["body": "Writer \(writer), note \(index)"], timeout: 15)
                            seen.append(answer?.status ?? -1)
                        }
                        return seen
                    }
                }
                try await Task.sleep(for: .milliseconds(500))
                try await WalHistoryTests.run("stop", root)
                crashed.set()
                return try await group.reduce(into: [Int]()) { $0 += $1 }
            }
            // Every request answered (none was left waiting past the client's fifteen seconds), as written or as 503.
            #expect(statuses.contains(201))
            #expect(statuses.contains(503))
            #expect(Set(statuses).isSubset(of: [201, 503]), "\(Set(statuses))")

            try await WalHistoryTests.run("start", root, "\(port)")
            _ = try await HTTP.eventually(base, .get, "/readyz") { $0.status == 200 }
            // SIGTERM while a request waits on a lock nobody will release (and no timeout of the database's will end):
            // the drain ends at KITH_DRAIN_TIMEOUT, cancelling it, and the process exits.
            let (locked, lockedSignal) = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
                    try await db.withTransaction(logger: TestDatabase.logger) { connection in
                        try await connection.query("LOCK TABLE notes IN ACCESS EXCLUSIVE MODE", logger: TestDatabase.logger)
                        lockedSignal.yield()
                        // Held until the cluster is destroyed.
                        try await Task.sleep(for: .seconds(60))
                    }
                }
            }
            for await _ in locked { break }
            let waiting = Task { try? await HTTP.send(base, .get, "/v1/families/\(family.id)/timeline", token: token, timeout: 30) }
            try await Task.sleep(for: .milliseconds(500))
            server.process.terminate()
            // A drain of 3 s, with room for a busy machine.
            try await waitUntil("kith-server to exit after SIGTERM", within: .seconds(20), every: .milliseconds(100)) {
                !server.process.isRunning
            }
            _ = await waiting.value
            holder.cancel()
        }
    }
}

/// Set once, read by many.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

/// Plain HTTP to a `ServerProcess`, with the answer's headers and a client-side bound on every request.
enum HTTP {
    enum Method: String { case get = "GET", post = "POST" }

    struct Answer: Sendable {
        var status: Int
        /// By lower-case name.
        var headers: [String: String]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    static func send(
        _ base: String, _ method: Method, _ path: String, token: String? = nil, json: [String: Any]? = nil,
        timeout: TimeInterval = 30
    ) async throws -> Answer {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method.rawValue
        request.timeoutInterval = timeout
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        let headers = (http?.allHeaderFields ?? [:]).reduce(into: [String: String]()) { headers, field in
            if let name = field.key as? String, let value = field.value as? String { headers[name.lowercased()] = value }
        }
        return Answer(status: http?.statusCode ?? 0, headers: headers, body: data)
    }

    /// Sends until `done` holds, for up to a minute: how a client retries after a 503.
    static func eventually(
        _ base: String, _ method: Method, _ path: String, token: String? = nil, json: [String: Any]? = nil,
        _ done: (Answer) -> Bool
    ) async throws -> Answer {
        try await waitUntil("\(method) \(path) to be answered as wanted", within: .seconds(60), every: .milliseconds(500)) {
            guard let answer = try? await send(base, method, path, token: token, json: json, timeout: 10) else { return nil }
            return done(answer) ? answer : nil
        }
    }
}
