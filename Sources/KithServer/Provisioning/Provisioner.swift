import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// One SCIM request's transaction: the connection behind the wall of the organisation its token belongs to, the token
/// (who the changes are by, in the organisation's feed) and the logger. The SCIM handlers ask one of these for
/// everything, as the API's ask one `Records`.
struct Provisioner: Sendable {
    let connection: PostgresConnection
    let organisation: UUID
    let token: UUID
    let logger: Logger

    @discardableResult
    private func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        try await connection.query(query, logger: logger)
    }

    /// A worker as the provider sees them, with what meta says of them.
    struct Found: Sendable {
        let id: UUID
        var user: SCIMUser
        let created: Date
        let changed: Date
    }

    static let columns = """
        id, email, name, given_name, family_name, sso_subject, created_at, changed_at,
        (left_on IS NULL OR left_on > current_date) AS active
        """

    private static func found(_ row: PostgresRow) throws -> Found {
        let row = row.makeRandomAccess()
        return Found(
            id: try row.decode("id"),
            user: SCIMUser(
                userName: try row.decode("email"), displayName: try row.decode("name"), givenName: try row.decode("given_name"),
                familyName: try row.decode("family_name"), externalId: try row.decode("sso_subject"), active: try row.decode("active")),
            created: try row.decode("created_at"), changed: try row.decode("changed_at"))
    }

    /// A worker the provider has not removed; 404 for any other id, as for one that never was.
    func user(_ id: UUID, forUpdate: Bool = false) async throws -> Found {
        let rows = try await query(
            """
            SELECT \(unescaped: Self.columns) FROM workers
            WHERE organisation_id = \(organisation) AND id = \(id) AND scim_removed_at IS NULL
            \(unescaped: forUpdate ? "FOR UPDATE" : "")
            """)
        for try await row in rows { return try Self.found(row) }
        throw KithError(status: .notFound, code: "not_found", detail: "No such User.")
    }

    /// A page of the workers the filter matches (all, without one), oldest first, and how many match in all (counted
    /// even past the last page, where the page is one row of nulls).
    func users(_ filter: SCIMFilter?, startIndex: Int, count: Int) async throws -> (total: Int, page: [Found]) {
        let field = filter?.attribute.rawValue
        let value = filter?.value
        let rows = try await query(
            """
            WITH matched AS (
                SELECT \(unescaped: Self.columns) FROM workers
                WHERE organisation_id = \(organisation) AND scim_removed_at IS NULL
                  AND (\(field)::text IS NULL
                       OR \(field) = 'userName' AND lower(email) = lower(\(value))
                       OR \(field) = 'externalId' AND sso_subject = \(value)
                       OR \(field) = 'id' AND id::text = lower(\(value)))
            )
            SELECT (SELECT count(*) FROM matched) AS total, page.*
            FROM (VALUES (1)) AS one
            LEFT JOIN LATERAL (SELECT * FROM matched ORDER BY created_at, id OFFSET \(startIndex - 1) LIMIT \(count)) page ON true
            """)
        var total = 0
        var page: [Found] = []
        for try await row in rows {
            total = try row.makeRandomAccess().decode("total", as: Int.self)
            if try row.makeRandomAccess().decode("id", as: UUID?.self) != nil { page.append(try Self.found(row)) }
        }
        return (total, page)
    }

    /// A joiner: a practitioner in no team until an administrator says otherwise, with no password of Kith's. A
    /// `userName` of someone the provider removed here before brings that worker back, with their history, rather than
    /// making a second of them.
    func create(_ user: SCIMUser) async throws -> Found {
        let removed = try await query(
            """
            SELECT id FROM workers
            WHERE organisation_id = \(organisation) AND lower(email) = lower(\(user.userName)) AND scim_removed_at IS NOT NULL
            FOR UPDATE
            """).decode(UUID.self).first { _ in true }
        if let removed {
            try await query("UPDATE workers SET scim_removed_at = NULL WHERE organisation_id = \(organisation) AND id = \(removed)")
            return try await write(user, over: try await self.user(removed, forUpdate: true), reason: "back through SCIM")
        }
        let id = UUID()
        try await query(
            """
            INSERT INTO workers (organisation_id, id, name, email, password_hash, roles, given_name, family_name, sso_subject, left_on)
            VALUES (\(organisation), \(id), \(user.displayName), \(user.userName), \(Passwords.none), ARRAY['practitioner'],
                    \(user.givenName), \(user.familyName), \(user.externalId), CASE WHEN \(user.active) THEN NULL ELSE current_date END)
            """)
        try await audit(id, "worker created through SCIM as a practitioner in no team\(user.active ? "" : ", not active")")
        return try await self.user(id)
    }

    /// The worker as `user` says, from `before`: switched off, they leave today and lose every session and device in
    /// this transaction; switched on again, they may sign in again (their old sessions and devices stay ended). Left
    /// active, a leaving date an administrator set for later stands.
    func write(_ user: SCIMUser, over before: Found, reason: String? = nil) async throws -> Found {
        let id = before.id
        try await query(
            """
            UPDATE workers SET email = \(user.userName), name = \(user.displayName), given_name = \(user.givenName),
                               family_name = \(user.familyName), sso_subject = \(user.externalId), changed_at = now(),
                               left_on = CASE WHEN \(user.active) AND NOT \(before.user.active) THEN NULL
                                              WHEN \(user.active) THEN left_on
                                              WHEN left_on IS NULL OR left_on > current_date THEN current_date
                                              ELSE left_on END
            WHERE organisation_id = \(organisation) AND id = \(id)
            """)
        if before.user.active, !user.active {
            try await connection.endSessionsAndDevices(of: id, organisation: organisation, logger: logger)
        }
        var changes: [String] = []
        if let reason { changes.append(reason) }
        if before.user.active != user.active { changes.append(user.active ? "active again" : "switched off: leaves today") }
        if before.user.userName != user.userName { changes.append("userName changed") }
        if before.user.displayName != user.displayName || before.user.givenName != user.givenName || before.user.familyName != user.familyName {
            changes.append("name changed")
        }
        if before.user.externalId != user.externalId {
            changes.append(user.externalId == nil ? "unlinked from the identity provider" : "linked to the identity provider")
        }
        try await audit(id, changes.isEmpty ? "no change through SCIM" : changes.joined(separator: "; ") + " (SCIM)")
        return try await self.user(id)
    }

    /// DELETE: the provider sees the worker no more; Kith keeps them and every record they made, as a leaver.
    func remove(_ id: UUID) async throws {
        let before = try await user(id, forUpdate: true)
        var user = before.user
        user.active = false
        _ = try await write(user, over: before, reason: "removed through SCIM")
        try await query("UPDATE workers SET scim_removed_at = now() WHERE organisation_id = \(organisation) AND id = \(id)")
    }

    /// In the organisation's feed as the token's, seen by the supervisors of the worker's teams.
    private func audit(_ worker: UUID, _ reason: String) async throws {
        try await query(
            """
            SELECT kith_audit(NULL, NULL, NULL, 'administer', 'worker', ARRAY[\(worker)::uuid], \(reason), ARRAY[false],
                              ARRAY(SELECT team_id FROM team_members WHERE organisation_id = \(organisation) AND worker_id = \(worker)),
                              \(token))
            """)
    }
}
