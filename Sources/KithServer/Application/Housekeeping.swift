import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// What the server tidies by itself once a day: the sync change log beyond a cursor's lifetime, and sign-in failures
/// too old to count. Several instances doing it at once is harmless.
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

    func tidy() async {
        do {
            let pruned = try await db.transaction(organisation: nil) { connection in
                try await LoginThrottle.forgetOldFailures(on: connection, logger: logger)
                return try await connection.pruneChangeLog(olderThan: PullCursor.retention, logger: logger)
            }
            logger.info("Housekeeping done", metadata: ["changeLogRowsPruned": "\(pruned)"])
        } catch {
            let sqlState = (error as? PSQLError)?.serverInfo?[.sqlState] ?? "none"
            logger.error(
                "Housekeeping failed; it is tried again in a day",
                metadata: ["type": "\(String(reflecting: type(of: error)))", "sqlState": "\(sqlState)"])
        }
    }
}
