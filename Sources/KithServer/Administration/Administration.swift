import Foundation
import Logging
import PostgresNIO

/// Setting up an organisation from the command line, before anyone can sign in.
public struct Administration: Sendable {
    let db: PostgresClient
    let logger: Logger

    public init(db: PostgresClient, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    /// A password an operator chose that Kith will not take (`Passwords.problem`).
    public struct PasswordRefused: Error, CustomStringConvertible {
        public let description: String
    }

    public func createOrganisation(name: String, adminName: String, adminEmail: String, adminPassword: String) async throws -> UUID {
        if let problem = Passwords.problem(adminPassword) { throw PasswordRefused(description: "The password \(problem).") }
        let organisation = UUID()
        let hash = try await Passwords.hash(adminPassword)
        try await db.withTransaction(logger: logger) { connection in
            try await connection.enterWall(organisation: organisation, logger: logger)
            try await connection.query(
                "INSERT INTO organisations (id, name) VALUES (\(organisation), \(name))", logger: logger)
            try await connection.query(
                """
                INSERT INTO workers (organisation_id, id, name, email, password_hash, roles)
                VALUES (\(organisation), \(UUID()), \(adminName), \(adminEmail), \(hash), ARRAY['admin'])
                """, logger: logger)
        }
        return organisation
    }

    /// After restoring a backup: devices must not trust their pull cursors, which may point past what the restored
    /// data holds. Their cursors answer 409 `reset_required` from now on and they start their feeds again.
    public func startNewSyncGeneration() async throws {
        // The operator's own role, as the tables' owner: the server's role may not run this (migration 0018).
        try await db.withTransaction(logger: logger) { connection in
            try await connection.startNewSyncGeneration(logger: logger)
        }
    }
}
