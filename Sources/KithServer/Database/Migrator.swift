import Crypto
import Foundation
import KithCore
import KithSchema
import Logging
import NIOPosix
import PostgresNIO
import Synchronization

/// Applies `db/migrations/NNNN_name.sql` in order, each in its own transaction, recording each in
/// `schema_migrations`; then each `db/functions/name.sql` whose text changed since it was last applied (as repeatable
/// migrations are), recording its checksum in `schema_functions`. Numbered migrations keep tables, indexes, policies and
/// data; a function's current text lives in its one file. A transaction-level advisory lock lets several processes
/// start at once without racing.
public struct Migrator: Sendable {
    public struct Migration: Sendable {
        public var version: String
        public var sql: String
    }

    /// A function's current text, `CREATE OR REPLACE` with its owner and grants, and the checksum it is known by.
    public struct Function: Sendable {
        public var name: String
        public var sql: String
        public var checksum: String { SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined() }
    }

    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The migrations shipped with this build, in order.
    public static func bundled() throws -> [Migration] {
        try sqlFiles(in: Schema.migrationsFolder).map { Migration(version: $0.name, sql: $0.sql) }
    }

    /// The functions' current texts shipped with this build, by name.
    public static func bundledFunctions() throws -> [Function] {
        try sqlFiles(in: Schema.functionsFolder).map { Function(name: $0.name, sql: $0.sql) }
    }

    private static func sqlFiles(in folder: URL?) throws -> [(name: String, sql: String)] {
        guard let folder else { throw CocoaError(.fileNoSuchFile) }
        return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
            .map { ($0.deletingPathExtension().lastPathComponent, try String(contentsOf: $0, encoding: .utf8)) }
    }

    /// Returns the versions it applied, and `functions/name` for each function it applied. Each migration is one
    /// transaction that first takes a transaction-level advisory lock and then looks again at what is applied, so several
    /// processes may start at once, and the lock can never outlive its transaction (a session lock taken and released
    /// through PgBouncer in transaction mode could land on two different server connections).
    @discardableResult
    public func migrate() async throws -> [String] {
        try await migrate(try Self.bundled(), functions: try Self.bundledFunctions())
    }

    func migrate(_ migrations: [Migration], functions: [Function]) async throws -> [String] {
        try await client.withConnection { connection in
            var applied: [String] = []
            for migration in migrations {
                let ran = try await connection.withTransaction(logger: logger) { transaction in
                    try await transaction.query("SELECT pg_advisory_xact_lock(7244100001)", logger: logger)
                    try await transaction.query(
                        """
                        CREATE TABLE IF NOT EXISTS schema_migrations (
                            version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                        """, logger: logger)
                    guard try await !self.appliedVersions(transaction).contains(migration.version) else { return false }
                    for statement in SQLScript.statements(in: migration.sql) {
                        try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await transaction.query(
                        "INSERT INTO schema_migrations (version) VALUES (\(migration.version))", logger: logger)
                    return true
                }
                if ran {
                    logger.info("applied migration", metadata: ["version": .string(migration.version)])
                    applied.append(migration.version)
                }
            }
            for function in functions {
                let ran = try await connection.withTransaction(logger: logger) { transaction in
                    try await transaction.query("SELECT pg_advisory_xact_lock(7244100001)", logger: logger)
                    let applied = try await transaction.query(
                        "SELECT checksum FROM schema_functions WHERE name = \(function.name)", logger: logger
                    ).collect().first?.decode(String.self)
                    guard applied != function.checksum else { return false }
                    for statement in SQLScript.statements(in: function.sql) {
                        try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await transaction.query(
                        """
                        INSERT INTO schema_functions (name, checksum) VALUES (\(function.name), \(function.checksum))
                        ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, applied_at = now()
                        """, logger: logger)
                    return true
                }
                if ran {
                    logger.info("applied function", metadata: ["function": .string(function.name)])
                    applied.append("functions/\(function.name)")
                }
            }
            return applied
        }
    }

    /// True when every bundled migration has been applied, and every function's current text: what `/readyz` reports.
    public func isCurrent() async throws -> Bool {
        try await client.withConnection { try await self.isCurrent($0) }
    }

    private func isCurrent(_ connection: PostgresConnection) async throws -> Bool {
        guard Set(try Self.bundled().map(\.version)).isSubset(of: try await appliedVersions(connection)) else { return false }
        let applied = try await appliedFunctions(connection)
        return try Self.bundledFunctions().allSatisfy { applied[$0.name] == $0.checksum }
    }

    /// `isCurrent`, answered within `limit` whatever the database does: false when it cannot say by then. A probe must
    /// answer, and a database that stopped answering may leave a query waiting long after the probe gave up (it is left
    /// to end when its connection does).
    func isCurrent(within limit: Duration) async -> Bool {
        await withCheckedContinuation { (answer: CheckedContinuation<Bool, Never>) in
            let once = Mutex<CheckedContinuation<Bool, Never>?>(answer)
            let check = Task {
                let current = (try? await ConnectionLease.with(client, waitingAtMost: limit) { try await self.isCurrent($0) }) ?? false
                once.withLock { $0.take() }?.resume(returning: current)
            }
            MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: TimeAmount(limit)) {
                check.cancel()
                once.withLock { $0.take() }?.resume(returning: false)
            }
        }
    }

    private func appliedFunctions(_ connection: PostgresConnection) async throws -> [String: String] {
        guard try await exists("schema_functions", connection) else { return [:] }
        var checksums: [String: String] = [:]
        for try await (name, checksum) in try await connection.query("SELECT name, checksum FROM schema_functions", logger: logger)
            .decode((String, String).self)
        {
            checksums[name] = checksum
        }
        return checksums
    }

    private func appliedVersions(_ connection: PostgresConnection) async throws -> Set<String> {
        guard try await exists("schema_migrations", connection) else { return [] }
        var versions = Set<String>()
        for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger)
            .decode(String.self)
        {
            versions.insert(version)
        }
        return versions
    }

    /// Whether a ledger table is there yet (not on a database never migrated).
    private func exists(_ table: String, _ connection: PostgresConnection) async throws -> Bool {
        try await connection.query("SELECT to_regclass(\(table)) IS NOT NULL", logger: logger).collect().first?.decode(Bool.self) ?? false
    }
}
