import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The connection a signed-in request holds (`Database.signedIn`), whether the transaction its token's lookup opened
/// is still waiting for the request to take it, and the relationship the lookup read ahead in it.
final class RequestConnection: Sendable {
    let connection: PostgresConnection
    private let lookup = Mutex<Lookup>(.nothingOpen)

    /// Where the token's lookup stands on this connection.
    private enum Lookup {
        /// No lookup transaction is open: none ran, it ended, or the request's transaction that took it has finished.
        case nothingOpen
        /// The lookup's transaction is begun and its statement running.
        case lookupRunning
        /// The lookup's transaction is open behind the wall for this organisation, waiting for the request to take it.
        case waitingBehindWall(UUID)
        /// The lookup ran as a transaction of its own for this organisation, leaving none open, for a request whose
        /// work is one statement (`alone`).
        case lookedUpAlone(UUID)
        /// The request's transaction running now is the lookup's.
        case takenByRequest
    }

    /// Read by the lookup, for the first access check of the transaction that continues it.
    private let relationship = Mutex<FamilyRelationship?>(nil)
    private let running = Mutex(false)

    init(connection: PostgresConnection) { self.connection = connection }

    /// A transaction begun inside another on the request's connection, or a statement meant to run alone begun inside
    /// one: a fault in the server, answered 500.
    struct NestedTransaction: Error {}

    /// Runs `statement`, the token's lookup, which enters the wall for the organisation `organisation` reads from its
    /// row; its first row, or nil for none. With `opensTransaction` it opens the request's first transaction, which the
    /// request's first transaction for that organisation continues; without, it is a transaction of its own, and what
    /// it entered ends with it.
    func begin<Site: HotStatement>(
        _ site: Site.Type, _ statement: PostgresQuery, opensTransaction: Bool, logger: Logger,
        organisation: (PostgresRow) throws -> UUID
    ) async throws -> PostgresRow? {
        if opensTransaction {
            try await connection.query("BEGIN", logger: logger)
            lookup.withLock { $0 = .lookupRunning }
        }
        guard let row = try await connection.query(site, statement, logger: logger).first else { return nil }
        let found = try organisation(row)
        lookup.withLock { $0 = opensTransaction ? .waitingBehindWall(found) : .lookedUpAlone(found) }
        return row
    }

    /// The caller's relationship to a family, as the lookup read it in its transaction.
    func knowRelationship(_ known: FamilyRelationship) { relationship.withLock { $0 = known } }

    /// The relationship the lookup read to `familyId`, once, and only in the transaction that continues the lookup's
    /// (a later check, after the transaction may have changed it, reads it again).
    func takeRelationship(to familyId: UUID) -> FamilyRelationship? {
        take(familyId) { if case .takenByRequest = $0 { true } else { false } }
    }

    /// The relationship the lookup read to `familyId` when it ran on its own for `organisation`, once: the access check
    /// of the request's one statement (`alone`).
    func takeSettledRelationship(to familyId: UUID, organisation: UUID) -> FamilyRelationship? {
        take(familyId) { if case .lookedUpAlone(organisation) = $0 { true } else { false } }
    }

    private func take(_ familyId: UUID, when state: (Lookup) -> Bool) -> FamilyRelationship? {
        guard lookup.withLock({ state($0) }) else { return nil }
        return relationship.withLock { known in
            defer { known = nil }
            return known?.familyId == familyId ? known : nil
        }
    }

    /// `statement`, which must enter the wall itself (a `kith_read_…` or `kith_write_…` function of the migrations), as
    /// a transaction of its own: its rows. Only where no transaction is open, after a lookup that ran on its own.
    func alone<Site: HotStatement>(_ site: Site.Type, _ statement: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try claim()
        defer { running.withLock { $0 = false } }
        guard lookup.withLock({ lookup in
            switch lookup {
            case .nothingOpen, .lookedUpAlone: return true
            case .lookupRunning, .waitingBehindWall, .takenByRequest: return false
            }
        }) else { throw NestedTransaction() }
        return try await connection.query(site, statement, logger: logger)
    }

    /// One connection runs one transaction at a time: a transaction begun inside another would end the outer one.
    private func claim() throws {
        guard !running.withLock({ running in defer { running = true }; return running }) else { throw NestedTransaction() }
    }

    /// Rolls back the lookup's transaction if no transaction of the request took it.
    func endLookup(logger: Logger) async throws {
        relationship.withLock { $0 = nil }
        let open = lookup.withLock { lookup in
            defer { lookup = .nothingOpen }
            switch lookup {
            case .lookupRunning, .waitingBehindWall: return true
            case .nothingOpen, .takenByRequest, .lookedUpAlone: return false
            }
        }
        if open { try await connection.rollback(logger: logger) }
    }

    func transaction<Result>(
        organisation: UUID?, isolation: Database.Isolation, timeouts: Timeouts, logger: Logger,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        try claim()
        defer { running.withLock { $0 = false } }
        let continues = lookup.withLock { lookup in
            guard case .waitingBehindWall(let wall) = lookup, wall == organisation, isolation == .readCommitted else { return false }
            lookup = .takenByRequest
            return true
        }
        if !continues { try await endLookup(logger: logger) }
        defer {
            if continues {
                lookup.withLock { $0 = .nothingOpen }
                relationship.withLock { $0 = nil }
            }
        }
        return try await connection.transaction(
            continues ? .continuing : .begin(isolation, behindWallOf: organisation, timeouts: timeouts), logger: logger, body)
    }
}
