import Foundation
import Logging
import Metrics
import PostgresNIO
import Synchronization

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
    /// own error (a `KithError`, say) comes out as it was, after the rollback. In a signed-in request it runs on the
    /// request's own connection (`signedIn`).
    func transaction<Result>(
        organisation: UUID?, isolation: Isolation = .readCommitted, _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        if let held = Self.requestConnection {
            return try await held.transaction(organisation: organisation, isolation: isolation, timeouts: timeouts, logger: logger, body)
        }
        let requested = ContinuousClock.now
        return try await ConnectionLease.with(client, waitingAtMost: timeouts.acquire, holdingAtMost: timeouts.hold) { connection in
            leased(since: requested)
            defer { inUse.decrement() }
            return try await connection.transaction(
                .begin(isolation, behindWallOf: organisation, timeouts: timeouts), logger: logger, body)
        }
    }

    /// A signed-in request, on one connection from its token's lookup to its answer. `body` looks the token up with
    /// `RequestConnection.begin`, which opens the request's first transaction; every transaction of the request then
    /// runs on this connection, one after another, and the first for the organisation the lookup named continues the
    /// lookup's own, so a request about a family costs a lease and a round trip fewer than a lookup of its own would.
    /// The lookup's transaction, if nothing took it, is rolled back at the end.
    func signedIn<Result: Sendable>(_ body: (RequestConnection) async throws -> Result) async throws -> Result {
        let requested = ContinuousClock.now
        return try await ConnectionLease.with(client, waitingAtMost: timeouts.acquire, holdingAtMost: timeouts.hold) { connection in
            leased(since: requested)
            defer { inUse.decrement() }
            let held = RequestConnection(connection: connection)
            do {
                let result = try await Self.$requestConnection.withValue(held) { try await body(held) }
                try await held.endLookup(logger: logger)
                return result
            } catch {
                try? await held.endLookup(logger: logger)
                throw error
            }
        }
    }

    /// The first row of one statement run on its own (its own implicit transaction), outside the wall: only for the
    /// `SECURITY DEFINER` lookups made before the organisation is known (a family member's session on their page).
    func definerLookup<Site: HotStatement>(_ site: Site.Type, _ query: PostgresQuery) async throws -> PostgresRow? {
        let requested = ContinuousClock.now
        return try await ConnectionLease.with(client, waitingAtMost: timeouts.acquire, holdingAtMost: timeouts.hold) { connection in
            leased(since: requested)
            defer { inUse.decrement() }
            return try await connection.query(site, query, logger: logger).first
        }
    }

    /// The signed-in request this task serves, if any (`signedIn`).
    @TaskLocal static var requestConnection: RequestConnection?

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
    /// show one organisation's rows (migration 0006), with this transaction's limits: `kith_enter_wall`
    /// (`db/functions/`), which the token's lookup calls in its own statement. The settings are transaction-local, so a pooled
    /// connection (or PgBouncer in transaction mode) carries nothing over to the next transaction, and they hold even
    /// when the server connects as a superuser or as the tables' owner. `timeouts`, when given, limit this transaction
    /// alone. When hot statements are prepared, the transaction's statements run on generic plans: left to choose,
    /// PostgreSQL planned the prepared ones again at every call (a custom plan looks cheaper when it knows the family,
    /// the limit and whether a keyset is given), and that planning was most of their cost; their generic plans read
    /// through the same family indexes (the benchmarks of docs/benchmarks.md, team continuity among them, found none
    /// slower).
    func enterWall(organisation: UUID?, timeouts: Timeouts? = nil, logger: Logger) async throws {
        let limits = timeouts?.milliseconds
        _ = try await query(
            Wall.self,
            """
            SELECT kith_enter_wall(\(organisation), \(Database.preparesStatements), \(limits?.statement)::bigint, \(limits?.idle)::bigint)
            """, logger: logger)
    }

    /// How a transaction starts: `BEGIN` and the wall for an organisation, or already open behind it.
    enum TransactionStart {
        case begin(Database.Isolation, behindWallOf: UUID?, timeouts: Timeouts?)
        case continuing
    }

    /// `start`, `body`, then `COMMIT`, or `ROLLBACK` when `body` throws, whose error then comes out as it was. A
    /// connection whose transaction could not be rolled back is closed, so that the pool never lends it half-way
    /// through one. `actor` is the caller's isolation, as PostgresNIO's own `withTransaction` takes it, so that `body`
    /// may be sent on.
    func transaction<Result>(
        _ start: TransactionStart, logger: Logger, isolation actor: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        if case .begin(let isolation, let organisation, let timeouts) = start {
            switch isolation {
            case .readCommitted: try await query("BEGIN", logger: logger)
            case .repeatableRead: try await query("BEGIN ISOLATION LEVEL REPEATABLE READ", logger: logger)
            }
            do {
                try await enterWall(organisation: organisation, timeouts: timeouts, logger: logger)
            } catch {
                try? await rollback(logger: logger)
                throw error
            }
        }
        var finished = false
        do {
            let result = try await body(self)
            finished = true
            try await query("COMMIT", logger: logger)
            return result
        } catch {
            if !finished { try? await rollback(logger: logger) }
            throw error
        }
    }

    func rollback(logger: Logger) async throws {
        do {
            try await query("ROLLBACK", logger: logger)
        } catch {
            try? await close()
            throw error
        }
    }
}

/// The settings every server transaction starts with.
enum Wall: HotStatement {}
