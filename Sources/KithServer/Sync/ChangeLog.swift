import Foundation
import Logging
import Metrics
import PostgresNIO

/// The change log (`sync_changes`) is pruned daily by `Housekeeping` of rows older than a cursor's lifetime.
///
/// Rows are deleted in feed order only up to the oldest row still within the lifetime, and never at or above the
/// snapshot horizon, so what remains is a suffix of the feed. The last row deleted is remembered: a cursor positioned
/// before it answers 410 `cursor_expired` (its device pulls its families whole again) instead of silently skipping.
extension PostgresConnection {
    /// Deletes up to `batch` change-log rows older than `age` that every later row follows in feed order, oldest first;
    /// returns how many. Across organisations, so through the narrow `kith_prune_change_log` function.
    func pruneChangeLog(olderThan age: TimeInterval, batch: Int = 5_000, logger: Logger) async throws -> Int {
        try await query("SELECT kith_prune_change_log(\(age)::float8, \(batch)::int)", logger: logger)
            .decode(Int.self).first { _ in true } ?? 0
    }

    /// Whether rows this cursor had yet to read were pruned.
    func changeLogWasPruned(after cursor: PullCursor, logger: Logger) async throws -> Bool {
        guard !cursor.isStart else { return false }
        return try await query(
            PrunedCheck.self,
            """
            SELECT (last_xid, last_seq) > (\(String(cursor.afterXid))::text::xid8, \(cursor.afterSeq)) FROM sync_changes_pruned
            """, logger: logger
        ).first?.decode(Bool.self) ?? false
    }
}

/// Whether a cursor's rows were pruned, asked by every pull.
enum PrunedCheck: HotStatement {}

/// How far behind the present a pull can see: the age of the oldest transaction in the cluster that holds an id, which
/// the feed's horizon waits for (`sync_horizon_lag_seconds`). Recorded by every pull and by every scrape of `/metrics`,
/// so that an idle transaction anywhere (a psql left open, even in another database) is seen while no device pulls.
enum FeedLag {
    static let gauge = Gauge(label: "sync_horizon_lag_seconds")

    /// Samples the lag for a scrape, waiting no more than a second; a database that cannot say leaves the last value.
    static func sample(_ client: PostgresClient, logger: Logger) async {
        let lag = try? await ConnectionLease.with(client, waitingAtMost: .seconds(1)) { connection in
            try await connection.query(FeedLagRead.self, "SELECT kith_oldest_transaction_age()", logger: logger).first?.decode(Double.self)
        }
        if let lag = lag ?? nil { gauge.record(lag) }
    }
}

enum FeedLagRead: HotStatement {}
