import Foundation
import Logging
import PostgresNIO
import Testing
@testable import KithServer

/// Several `kith-server` replicas behind PgBouncer in transaction mode: migrations that start at once, housekeeping
/// one replica at a time in short batches, and limits on how long any server transaction may hold on.
@Suite struct ReplicaSafetyTests {
    @Test func threeProcessesMigratingAtOnceApplyEachMigrationAndFunctionOnce() async throws {
        let name = "kith_test_empty_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        _ = try await TestDatabase.admin { try await $0.query("CREATE DATABASE \(unescaped: name)", logger: TestDatabase.logger) }
        let url = TestDatabase.url(database: name)
        let applied = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
                        try await Migrator(client: db, logger: TestDatabase.logger).migrate()
                    }
                }
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        let bundled = try Migrator.bundled().map(\.version)
        let functions = try Migrator.bundledFunctions().map { "functions/\($0.name)" }
        #expect(applied.sorted() == (bundled + functions).sorted())
        let recorded = try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
            try await db.query("SELECT count(*)::int FROM schema_migrations", logger: TestDatabase.logger)
                .decode(Int.self).first { _ in true } ?? 0
        }
        #expect(recorded == bundled.count)
        _ = try await TestDatabase.admin {
            try await $0.query("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)", logger: TestDatabase.logger)
        }
    }

    @Test func housekeepingRunsOnOneReplicaAtATimeInShortBatches() async throws {
        try await Kith.run { kith in
            let logger = TestDatabase.logger
            let rows = Housekeeping.batch * 2 + 10
            try await kith.db.query(
                """
                INSERT INTO sync_changes (organisation_id, family_id, entity, entity_id, op, changed_at)
                SELECT \(kith.fixture.organisation), NULL, 'family', gen_random_uuid(), 'upsert', now() - interval '200 days'
                FROM generate_series(1, \(rows))
                """, logger: logger)
            let housekeeping = Housekeeping(db: kith.database, logger: logger)

            // Another replica is tidying: this one leaves it alone.
            try await kith.db.withTransaction(logger: logger) { other in
                try await other.query("SELECT pg_advisory_xact_lock(7244100004)", logger: logger)
                await housekeeping.tidy()
                #expect(try await kith.count("SELECT count(*) FROM sync_changes WHERE changed_at < now() - interval '180 days'") == rows)
            }
            // Rows are pruned only below the feed's horizon, which other tests' open transactions can hold back a while.
            let old = "SELECT count(*) FROM sync_changes WHERE changed_at < now() - interval '180 days'"
            try await waitUntil("housekeeping to prune the old rows", every: .milliseconds(100)) {
                await housekeeping.tidy()
                return try await kith.count(old) == 0
            }
            #expect(try await kith.count("SELECT count(*) FROM sync_changes_pruned") == 1)
        }
    }

    @Test func aServerTransactionCannotRunOnForever() async throws {
        try await Kith.run { kith in
            var timeouts = kith.database.timeouts
            timeouts.statement = .seconds(1)
            let database = Database(client: kith.db, logger: TestDatabase.logger, timeouts: timeouts)
            let slow = await #expect(throws: PSQLError.self) {
                try await database.transaction(organisation: kith.fixture.organisation) { connection in
                    _ = try await connection.query("SELECT pg_sleep(3)", logger: TestDatabase.logger).collect()
                }
            }
            #expect(slow?.serverInfo?[.sqlState] == "57014")
            let problem = KithError.classifying(try #require(slow), logger: TestDatabase.logger)
            #expect(problem.status == .serviceUnavailable && problem.code == "timeout")
            // The limit is the transaction's own: the next one on the same pool runs with the server's default.
            let setting = try await kith.db.query("SHOW statement_timeout", logger: TestDatabase.logger).decode(String.self).first { _ in true }
            #expect(setting == "0")

            let config = try AppConfig.fromEnvironment([
                "DATABASE_URL": "postgres://kith@db.example/kith", "KITH_STATEMENT_TIMEOUT": "5", "KITH_IDLE_IN_TRANSACTION_TIMEOUT": "20",
            ])
            #expect(config.timeouts.statement == .seconds(5) && config.timeouts.idleInTransaction == .seconds(20))
            #expect(throws: AppConfig.Invalid.self) {
                try AppConfig.fromEnvironment(["DATABASE_URL": "postgres://kith@db.example/kith", "KITH_STATEMENT_TIMEOUT": "forever"])
            }
        }
    }
}
