import Foundation
import KithAPI
import Logging
import PostgresNIO

/// Implements the generated `APIProtocol`; each feature folder adds its operations in an extension.
struct KithService: APIProtocol {
    let db: Database
    let config: AppConfig
    let logger: Logger
    let cursorKey: ListCursorKey
    let syncRate: SyncRate
    let wholeFamilyPulls: WholeFamilyPulls
    /// Each worker's searches (`KITH_SEARCHES_PER_MINUTE`).
    let searches = RateBuckets()
    /// The templates disclosures are rendered from.
    let documents: SubjectAccessDocument.Templates

    /// Signs and reads lists' `?after=` cursors.
    func cursors() throws -> ListCursor { try cursorKey.cursor }

    /// The signed-in caller's transaction, behind the database's wall for their organisation (a pull's page reads one
    /// snapshot: `.repeatableRead`).
    func records<Result>(
        isolation: Database.Isolation = .readCommitted, _ body: (Records) async throws -> sending Result
    ) async throws -> sending Result {
        let principal = try Principal.required()
        return try await db.transaction(organisation: principal.organisationId, isolation: isolation) { connection in
            try await body(Records(connection: connection, principal: principal, logger: logger))
        }
    }

    /// The work of `operation`'s handler when it is one statement entering the wall itself (a `kith_read_…` or
    /// `kith_write_…` function of db/functions/), its audit event among what it writes, after the caller's access to
    /// the family for `action` is checked: its rows. The token's lookup of such an operation ran on its own and read
    /// that access (`SignIn`), so the statement is the request's whole transaction: two round trips, the lookup and the
    /// statement, where a transaction's BEGIN and COMMIT would make four. Otherwise it runs in a transaction of
    /// `records`.
    func inOneStatement<Site: HotStatement>(
        _ operation: (some WorksInOneStatement).Type, _ site: Site.Type, family familyId: UUID, for action: FamilyAction,
        _ statement: @Sendable (Principal, FamilyAccess, ActingWorker) throws -> PostgresQuery
    ) async throws -> [PostgresRow] {
        // Swift cannot list an operation's conformances, so SignIn names them: a handler declared but not named there
        // would quietly pay two round trips more. Debug builds (the tests) stop at it.
        assert(SignIn.inOneStatement.contains(operation.id), "\(operation.id) works in one statement: name it in SignIn.inOneStatement")
        let principal = try Principal.required()
        if let held = Database.requestConnection,
           let known = held.takeSettledRelationship(to: familyId, organisation: principal.organisationId) {
            let access = FamilyAccess(known, of: principal)
            guard access.allows(action) else { throw access.refusal(action) }
            return try await held.alone(site, try statement(principal, access, principal.actingAlone), logger: logger)
        }
        return try await records { records in
            let access = try await records.access(familyId, for: action)
            return try await records.connection.query(site, try statement(principal, access, principal.acting), logger: logger)
        }
    }

    /// A read of part of a family's record: the caller's access is checked (404 without it) and the read audited, in
    /// the same transaction as the read, so no read of a family can skip either. `showsRestricted` says whether what
    /// was read holds a restricted note, which marks the event `breakGlass` when only break-glass let the caller see it.
    func readFamily<Result: Sendable>(
        _ familyId: UUID, _ entity: String, recordId: UUID? = nil, showsRestricted: (Result) -> Bool = { _ in false },
        _ body: (Records, FamilyAccess) async throws -> Result
    ) async throws -> Result {
        try await records { records in
            let access = try await records.access(familyId, for: .read)
            let result = try await body(records, access)
            try await records.audit(.read, entity, recordId: recordId, access: access, restricted: showsRestricted(result))
            return result
        }
    }
}
