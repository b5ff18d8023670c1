import Logging
import Metrics
import PostgresNIO

/// The server's way into PostgreSQL. Every lease is measured, so `/metrics` shows how busy the pool is
/// (`kith_db_connections_in_use`) and how long requests wait for a connection (`kith_db_connection_wait`):
/// PostgresNIO keeps its own pool observer internal.
struct Database: Sendable {
    let client: PostgresClient
    let logger: Logger
    private let inUse = Meter(label: "kith_db_connections_in_use")
    private let wait = Metrics.Timer(label: "kith_db_connection_wait")

    init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Reads on one leased connection.
    func read<Result>(_ body: (PostgresConnection) async throws -> sending Result) async throws -> sending Result {
        let requested = ContinuousClock.now
        return try await client.withConnection { connection in
            leased(since: requested)
            defer { inUse.decrement() }
            return try await body(connection)
        }
    }

    /// One transaction: a write's records, its audit event and its change-log rows commit together. The closure's own
    /// error (a `KithError`, say) comes out unwrapped, after the rollback.
    func transaction<Result>(_ body: (PostgresConnection) async throws -> sending Result) async throws -> sending Result {
        let requested = ContinuousClock.now
        do {
            return try await client.withTransaction(logger: logger) { connection in
                leased(since: requested)
                defer { inUse.decrement() }
                return try await body(connection)
            }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.commitError ?? error.beginError ?? error
        }
    }

    private func leased(since requested: ContinuousClock.Instant) {
        let waited = requested.duration(to: .now).components
        wait.recordNanoseconds(waited.seconds * 1_000_000_000 + waited.attoseconds / 1_000_000_000)
        inUse.increment()
    }
}
