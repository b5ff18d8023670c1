import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// What the server tidies by itself once a day: the sync change log beyond a cursor's lifetime, sign-in failures
/// too old to count, and device sign-ins lapsed a day ago. With several replicas, one does it at a time.
struct Housekeeping: Service {
    let db: Database
    let logger: Logger

    func run() async {
        await cancelWhenGracefulShutdown {
            // Not at once: the pool starts alongside, and a server restarted in a loop should not tidy in a loop.
            var wait = Duration.seconds(60)
            while (try? await Task.sleep(for: wait)) != nil {
                await tidy()
                wait = .seconds(86_400)
            }
        }
    }

    /// How many change-log rows one short transaction deletes.
    static let batch = 5_000

    /// One replica at a time: each step takes a transaction-level advisory lock or, when another replica holds it,
    /// leaves the work to that one. Times are the database's.
    func tidy() async {
        do {
            var pruned = 0
            let tidying: Void? = try await step { connection in
                try await LoginThrottle.forgetOldFailures(on: connection, logger: logger)
                try await DeviceSignIns.forgetLapsed(on: connection, logger: logger)
            }
            guard tidying != nil else {
                logger.info("Housekeeping left to another instance")
                return
            }
            while let deleted = try await step({ connection in
                try await connection.pruneChangeLog(olderThan: PullCursor.retention, batch: Self.batch, logger: logger)
            }) {
                pruned += deleted
                if deleted < Self.batch { break }
            }
            logger.info("Housekeeping done", metadata: ["changeLogRowsPruned": "\(pruned)"])
        } catch {
            let sqlState = (error as? PSQLError)?.serverInfo?[.sqlState] ?? "none"
            logger.error(
                "Housekeeping failed; it is tried again in a day",
                metadata: ["type": "\(String(reflecting: type(of: error)))", "sqlState": "\(sqlState)"])
        }
    }

    /// Runs `work` in its own transaction if this instance gets the housekeeping lock; nil when another one has it.
    private func step<Result: Sendable>(_ work: @escaping (PostgresConnection) async throws -> Result) async throws -> Result? {
        try await db.transaction(organisation: nil) { connection in
            let mine = try await connection.query("SELECT pg_try_advisory_xact_lock(7244100004)", logger: logger)
                .decode(Bool.self).first { _ in true } ?? false
            guard mine else { return nil }
            return try await work(connection)
        }
    }
}
