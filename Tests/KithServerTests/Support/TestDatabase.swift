import Foundation
import KithServer
import Logging
import PostgresNIO

/// Each test gets its own database, cloned from a template migrated once per run (the SwiftPackageIndex-Server
/// way), so tests run in parallel against a real PostgreSQL and leave nothing behind.
///
/// The server is found through `KITH_TEST_DATABASE_URL` (any database on it; the default is the local cluster of
/// `deploy/local-postgres.sh`). The template's name carries a hash of the migrations and the functions' texts, so a
/// changed migration or function gets a fresh template.
enum TestDatabase {
    /// Errors only: PostgresNIO warns when a query races a pool that is still starting, which is harmless here.
    static let logger: Logger = {
        var logger = Logger(label: "kith-test")
        logger.logLevel = .error
        return logger
    }()

    static let serverURL: String =
        ProcessInfo.processInfo.environment["KITH_TEST_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:54329/postgres"

    static func url(database: String) -> String {
        var components = URLComponents(string: serverURL)!
        components.path = "/" + database
        return components.string!
    }

    /// The same database as `kith-server serve` reaches it: as `kith_server`, the role that owns nothing (trusted on
    /// the test clusters' loopback, given LOGIN when the template is made).
    static func serving(_ url: String) -> String {
        var components = URLComponents(string: url)!
        components.user = "kith_server"
        components.password = nil
        return components.string!
    }

    /// How a test serves `url`: as `kith_server`, with every wait six times the default (for a connection, a lock, a
    /// statement) and no practical limit on how often a device syncs. Fifty suites share the test cluster and two cores
    /// while the suite runs, forty sign-ins or five pushes in one test queue for one row, and the sync tests pull page
    /// after page of one record; a test about something else must not fail on a busy machine. The tests of the limits
    /// themselves (`FailFastTests`, `LimitsTests`) set their own.
    static func servingConfig(_ url: String) -> AppConfig {
        var config = AppConfig(databaseURL: serving(url))
        config.timeouts.acquire = .seconds(30)
        config.timeouts.lock = .seconds(30)
        config.timeouts.statement = .seconds(180)
        config.syncRequestsPerMinute = 100_000
        return config
    }

    /// The migrated template, and `kith_server` (which the migrations make, cluster-wide) able to log in.
    private static let template = Task<String, any Error> {
        let name = try await makeTemplate()
        _ = try await admin { try await $0.query("ALTER ROLE kith_server LOGIN", logger: logger) }
        return name
    }

    /// Runs `body` with the URL of a fresh, migrated database, dropped afterwards.
    static func withFreshDatabase<Result: Sendable>(_ body: @Sendable (String) async throws -> Result) async throws -> Result {
        let template = try await template.value
        let name = "kith_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        _ = try await admin { try await $0.query("CREATE DATABASE \(unescaped: name) TEMPLATE \(unescaped: template)", logger: logger) }
        do {
            let result = try await body(url(database: name))
            try await drop(name)
            return result
        } catch {
            try? await drop(name)
            throw error
        }
    }

    private static func drop(_ name: String) async throws {
        _ = try await admin { try await $0.query("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)", logger: logger) }
    }

    private static func makeTemplate() async throws -> String {
        let texts = try Migrator.bundled().map { $0.version + $0.sql } + Migrator.bundledFunctions().map { $0.name + $0.sql }
        let fingerprint = texts.reduce(into: UInt64(0xcbf2_9ce4_8422_2325)) { hash, text in
            for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
        let name = "kith_template_" + String(fingerprint, radix: 16)
        let exists = try await admin {
            try await $0.query("SELECT count(*) FROM pg_database WHERE datname = \(name)", logger: logger)
                .decode(Int.self).first { _ in true } ?? 0
        }
        if exists > 0 { return name }

        let building = "\(name)_\(ProcessInfo.processInfo.processIdentifier)"
        _ = try await admin { try await $0.query("CREATE DATABASE \(unescaped: building)", logger: logger) }
        _ = try await withDatabase(AppConfig(databaseURL: url(database: building)), logger: logger) { db in
            try await Migrator(client: db, logger: logger).migrate()
        }
        do {
            _ = try await admin { try await $0.query("ALTER DATABASE \(unescaped: building) RENAME TO \(unescaped: name)", logger: logger) }
        } catch {
            // Another test run built the same template first.
            try await drop(building)
        }
        return name
    }

    static func admin<Result: Sendable>(_ body: @Sendable @escaping (PostgresClient) async throws -> Result) async throws -> Result {
        try await withDatabase(AppConfig(databaseURL: serverURL), logger: logger, body)
    }
}

/// The terminal tests' file-free count of what was stored, as the owner sees it: a statement's one number (-1 for none).
func count(_ db: PostgresClient, _ sql: String) async throws -> Int {
    try await db.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger).decode(Int.self).first { _ in true } ?? -1
}
