import Foundation
import KithAPI
import Logging
import PostgresNIO

/// Implements the generated `APIProtocol`; each feature folder adds its operations in an extension.
struct KithService: APIProtocol {
    let db: Database
    let config: AppConfig
    let logger: Logger

    func transaction<Result>(_ body: (PostgresConnection) async throws -> sending Result) async throws -> sending Result {
        try await db.transaction(body)
    }

    func read<Result>(_ body: (PostgresConnection) async throws -> sending Result) async throws -> sending Result {
        try await db.read(body)
    }

    /// A read of part of a family's record: the caller's access is checked (404 without it) and the read audited, in
    /// the same transaction as the read, so no read of a family can skip either.
    func readFamily<Result>(
        _ familyId: UUID, _ entity: String, recordId: UUID? = nil, principal: Principal,
        _ body: (PostgresConnection, FamilyAccess) async throws -> sending Result
    ) async throws -> sending Result {
        try await db.transaction { connection in
            let access = try await connection.familyAccess(familyId, for: principal, logger: logger)
            try await connection.audit(.read, entity, recordId: recordId, access: access, principal: principal, logger: logger)
            return try await body(connection, access)
        }
    }
}
