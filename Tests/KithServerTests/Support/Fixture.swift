import Foundation
import Logging
import PostgresNIO
@testable import KithServer

/// Two organisations seeded straight into a test database: North and South teams with practitioners, a
/// coordinator, supervisors and an administrator; and another organisation whose worker must never see ours.
/// Everyone is signed in already (sessions written directly, so tests do not pay bcrypt for every login).
struct Fixture: Sendable {
    enum Who: String, CaseIterable, Sendable {
        case priya, tom, omar, chris, sam, ruth, alex, zed
    }

    static let password = "correct horse battery staple"
    private static let passwordHash = Task { try await Passwords.hash(password) }

    let organisation: UUID
    let otherOrganisation: UUID
    let north: UUID
    let south: UUID
    let workers: [Who: UUID]
    let tokens: [Who: String]

    func id(_ who: Who) -> UUID { workers[who]! }

    static func seed(_ db: PostgresClient, logger: Logger) async throws -> Fixture {
        let hash = try await passwordHash.value
        let organisation = UUID(), other = UUID(), north = UUID(), south = UUID(), otherTeam = UUID()
        let people: [(Who, String, [String], UUID?, UUID)] = [
            (.priya, "Priya Shah", ["practitioner"], north, organisation),
            (.tom, "Tom Walsh", ["practitioner"], north, organisation),
            (.omar, "Omar Haddad", ["practitioner"], south, organisation),
            (.chris, "Chris Doyle", ["coordinator"], north, organisation),
            (.sam, "Sam Okafor", ["supervisor"], north, organisation),
            (.ruth, "Ruth Evans", ["supervisor"], south, organisation),
            (.alex, "Alex Morgan", ["admin"], nil, organisation),
            (.zed, "Zed Other", ["practitioner", "supervisor"], otherTeam, other),
        ]
        var workers: [Who: UUID] = [:]
        var tokens: [Who: String] = [:]
        try await db.withTransaction(logger: logger) { connection in
            try await connection.query(
                "INSERT INTO organisations (id, name) VALUES (\(organisation), 'Riverside'), (\(other), 'Elsewhere')", logger: logger)
            try await connection.query(
                """
                INSERT INTO teams (organisation_id, id, name)
                VALUES (\(organisation), \(north), 'North'), (\(organisation), \(south), 'South'), (\(other), \(otherTeam), 'Other')
                """, logger: logger)
            for (who, name, roles, team, org) in people {
                let id = UUID()
                workers[who] = id
                try await connection.query(
                    """
                    INSERT INTO workers (organisation_id, id, name, email, password_hash, roles)
                    VALUES (\(org), \(id), \(name), \("\(who.rawValue)@test.kith"), \(hash), \(roles))
                    """, logger: logger)
                if let team {
                    try await connection.query(
                        "INSERT INTO team_members (organisation_id, team_id, worker_id) VALUES (\(org), \(team), \(id))", logger: logger)
                }
                let token = Tokens.generate()
                tokens[who] = token
                try await connection.query(
                    """
                    INSERT INTO sessions (organisation_id, id, worker_id, token_hash, expires_at)
                    VALUES (\(org), \(UUID()), \(id), \(Tokens.hash(token)), now() + interval '1 hour')
                    """, logger: logger)
            }
        }
        return Fixture(
            organisation: organisation, otherOrganisation: other, north: north, south: south, workers: workers, tokens: tokens)
    }
}
