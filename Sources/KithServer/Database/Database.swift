import Foundation
import Logging
import Metrics
import PostgresNIO

/// The server's way into PostgreSQL. Every lease is measured, so `/metrics` shows how busy the pool is
/// (`kith_db_connections_in_use`) and how long requests wait for a connection (`kith_db_connection_wait`):
/// PostgresNIO keeps its own pool observer internal.
struct Database: Sendable {
    let client: PostgresClient
    let logger: Logger
    let timeouts: Timeouts
    private let inUse = Meter(label: "kith_db_connections_in_use")
    private let wait = Metrics.Timer(label: "kith_db_connection_wait")

    init(client: PostgresClient, logger: Logger, timeouts: Timeouts = Timeouts()) {
        self.client = client
        self.logger = logger
        self.timeouts = timeouts
    }

    /// One transaction: a write's records, its audit event and its change-log rows commit together. It runs behind the
    /// database's own wall (`PostgresConnection.enterWall`), seeing only `organisation`'s rows, or none when the
    /// organisation is not known yet (sign-in and token lookup then go through their narrow functions). The closure's
    /// own error (a `KithError`, say) comes out unwrapped, after the rollback.
    func transaction<Result>(
        organisation: UUID?, isolation: Isolation = .readCommitted, _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        let requested = ContinuousClock.now
        do {
            return try await client.withTransaction(logger: logger) { connection in
                leased(since: requested)
                defer { inUse.decrement() }
                if isolation == .repeatableRead {
                    try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", logger: logger)
                }
                try await connection.enterWall(organisation: organisation, timeouts: timeouts, logger: logger)
                return try await body(connection)
            }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.commitError ?? error.beginError ?? error
        }
    }

    /// The first row of one statement run on its own (its own implicit transaction), outside the wall: only for the
    /// `SECURITY DEFINER` lookups made before the organisation is known, which every request makes (its token's
    /// session). One round trip where a transaction behind the wall takes four; the function is the narrow way in.
    func definerLookup<Site: HotStatement>(_ site: Site.Type, _ query: PostgresQuery) async throws -> PostgresRow? {
        let requested = ContinuousClock.now
        return try await client.withConnection { connection in
            leased(since: requested)
            defer { inUse.decrement() }
            return try await connection.query(site, query, logger: logger).first
        }
    }

    /// Whether this task's statements marked `HotStatement` are prepared: set for each request by
    /// `PreparedStatementsMiddleware` (`KITH_DB_PREPARED_STATEMENTS`); off for everything else (migrations, housekeeping).
    @TaskLocal static var preparesStatements = false

    /// A sync pull reads its page in one snapshot; everything else reads committed data.
    enum Isolation { case readCommitted, repeatableRead }

    private func leased(since requested: ContinuousClock.Instant) {
        let waited = requested.duration(to: .now).components
        wait.recordNanoseconds(waited.seconds * 1_000_000_000 + waited.attoseconds / 1_000_000_000)
        inUse.increment()
    }
}

extension PostgresConnection {
    /// Makes the rest of this transaction run as `kith_app`, which owns nothing and whose row-level security policies
    /// show one organisation's rows (migration 0006). The settings are transaction-local, so a pooled connection (or
    /// PgBouncer in transaction mode) carries nothing over to the next transaction, and they hold even when the server
    /// connects as a superuser or as the tables' owner. `timeouts`, when given, limit this transaction alone. When hot
    /// statements are prepared, the transaction's statements run on generic plans: left to choose, PostgreSQL planned
    /// the prepared ones again at every call (a custom plan looks cheaper when it knows the family, the limit and whether
    /// a keyset is given), and that planning was most of their cost; their generic plans read through the same family
    /// indexes (the benchmarks of docs/benchmarks.md, team continuity among them, found none slower).
    func enterWall(organisation: UUID?, timeouts: Timeouts? = nil, logger: Logger) async throws {
        let limits = timeouts?.milliseconds
        _ = try await query(
            Wall.self,
            """
            SELECT set_config('role', 'kith_app', true), set_config('kith.organisation_id', \(organisation?.text ?? ""), true),
                   set_config('plan_cache_mode', CASE WHEN \(Database.preparesStatements) THEN 'force_generic_plan'
                                                      ELSE current_setting('plan_cache_mode') END, true),
                   set_config('statement_timeout', coalesce(\(limits?.statement)::bigint::text, current_setting('statement_timeout')), true),
                   set_config('idle_in_transaction_session_timeout',
                              coalesce(\(limits?.idle)::bigint::text, current_setting('idle_in_transaction_session_timeout')), true)
            """, logger: logger)
    }
}

/// The settings every server transaction starts with.
enum Wall: HotStatement {}
