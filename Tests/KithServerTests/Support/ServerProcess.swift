import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import Testing
@testable import KithServer

/// `kith-server` serving one database on a loopback port, as a separate process. What it writes is kept and read when
/// the test stops it: nothing personal may be in it (the fixture's names, emails and password, and whatever the test
/// adds with `mustNotLog`), at the debug level the server logs at here.
final class ServerProcess {
    let process: Process
    let port: Int
    let base: String
    private let output: URL
    private let personal = Mutex<[String]>(
        ["Priya Shah", "Tom Walsh", "Omar Haddad", "Chris Doyle", "Sam Okafor", "Ruth Evans", "Alex Morgan", "@test.kith", Fixture.password])

    /// `port`: nil picks a free one; a restarted server reuses its predecessor's, as clients know it by address.
    /// `environment`: settings added to the server's own (`KITH_DB_ACQUIRE_TIMEOUT`, say).
    convenience init(databaseURL: String, port: Int? = nil, environment: [String: String] = [:]) async throws {
        if let port {
            try await self.init(databaseURL: databaseURL, exactly: port, environment: environment)
            return
        }
        // Below Linux's ephemeral range (32768 and up), where the tests' own connections take their ports; a port
        // some other process holds already makes the server exit, and the next one is tried.
        for _ in 0..<10 {
            do {
                try await self.init(databaseURL: databaseURL, exactly: Int.random(in: 20_000...32_000), environment: environment)
                return
            } catch Failure.exited {}
        }
        throw Failure.exited
    }

    enum Failure: Error { case exited, silent(String) }

    private init(databaseURL: String, exactly port: Int, environment: [String: String]) async throws {
        let process = Process()
        process.executableURL = try Self.builtProduct("kith-server")
        process.arguments = ["serve"]
        process.environment = [
            "DATABASE_URL": TestDatabase.serving(databaseURL), "KITH_HOST": "127.0.0.1", "KITH_PORT": String(port), "KITH_LOG_LEVEL": "debug",
            // Many test servers share one PostgreSQL: each opens its connections as it needs them.
            "KITH_DB_POOL_MIN": "0",
            // As `TestDatabase.servingConfig`.
            "KITH_DB_ACQUIRE_TIMEOUT": "30", "KITH_LOCK_TIMEOUT": "30", "KITH_STATEMENT_TIMEOUT": "180",
            "KITH_SYNC_REQUESTS_PER_MINUTE": "100000",
        ].merging(environment) { $1 }
        output = FileManager.default.temporaryDirectory.appendingPathComponent("kith-server-\(UUID().uuidString).log")
        try Data().write(to: output)
        let written = try FileHandle(forWritingTo: output)
        process.standardOutput = written
        process.standardError = written
        try process.run()
        try written.close()
        self.process = process
        self.port = port
        self.base = "http://127.0.0.1:\(port)"
        // Generous: a debug build starting while every other test works the two cores can take several seconds.
        for _ in 0..<600 {
            if (try? await Self.call(.init(url: URL(string: base + "/healthz")!)).0) == 200 { return }
            guard process.isRunning else { throw Failure.exited }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw Failure.silent("kith-server did not answer on \(base)")
    }

    /// An executable of this package, built next to the tests (`swift build --build-tests` builds them all).
    static func builtProduct(_ name: String) throws -> URL {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw KithError.invalidField(name, "was not built next to the tests at \(binary.path)")
        }
        return binary
    }

    /// A test that fails before it stops its server leaves none behind.
    deinit {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: output)
    }

    /// Stops the server and reads what it wrote for anything personal.
    func kill(sourceLocation: SourceLocation = #_sourceLocation) {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        expectNothingPersonalWritten(sourceLocation: sourceLocation)
    }

    /// Words of the test's own (a family's name, a note's) that the server must never write.
    func mustNotLog(_ words: String...) {
        personal.withLock { $0 += words }
    }

    /// What the server wrote holds nothing personal; read again from the start each time (a server killed twice, say).
    func expectNothingPersonalWritten(sourceLocation: SourceLocation = #_sourceLocation) {
        let written = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        for word in personal.withLock({ $0 }) {
            #expect(!written.contains(word), "kith-server wrote \(word)", sourceLocation: sourceLocation)
        }
    }

    func post(_ path: String, token: String, json: Data) async throws -> (Int, Data) {
        try await Self.post(base + path, token: token, json: json)
    }

    /// The body of a GET that must answer 200.
    func get(_ path: String, token: String) async throws -> Data {
        var request = URLRequest(url: URL(string: base + path)!)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.timeoutInterval = 60
        let (status, data) = try await Self.call(request)
        guard status == 200 else { throw KithError.invalidField(path, "answered \(status): \(String(decoding: data, as: UTF8.self))") }
        return data
    }

    static func post(_ url: String, token: String, json: Data) async throws -> (Int, Data) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = "POST"
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = json
        request.timeoutInterval = 60
        return try await Self.call(request)
    }

    static func call(_ request: URLRequest) async throws -> (Int, Data) {
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }
}
