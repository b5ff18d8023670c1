import Foundation
import KithAPI
import KithCore
import PostgresNIO

extension Records {
    /// How many SCIM tokens may stand (neither expired nor revoked) at once in an organisation: one for each
    /// provisioning service and one more while it is rotated, with room to spare.
    static let standingScimTokens = 20

    func createScimToken(named name: String, days: Int) async throws -> Components.Schemas.CreatedScimToken {
        let standing = try await query(
            """
            SELECT count(*) FROM scim_tokens
            WHERE organisation_id = \(principal.organisationId) AND revoked_at IS NULL AND expires_at > now()
            """).decode(Int.self).first { _ in true } ?? 0
        guard standing < Self.standingScimTokens else {
            throw KithError.conflict(
                "too_many_scim_tokens", "\(Self.standingScimTokens) SCIM tokens stand already: revoke one no longer used first.")
        }
        let id = UUID()
        let token = Tokens.generate()
        let rows = try await query(
            """
            INSERT INTO scim_tokens (organisation_id, id, name, token_hash, created_by, expires_at)
            VALUES (\(principal.organisationId), \(id), \(name), \(Tokens.hash(token)), \(principal.workerId),
                    now() + \(days) * interval '1 day')
            RETURNING expires_at
            """)
        guard let expiresAt = try await rows.decode(Date.self).first(where: { _ in true }) else { throw KithError.notFound }
        try await auditAdministration("scimToken", recordId: id, reason: "SCIM token created, for \(days) days")
        return .init(id: id.text, name: name, token: token, expiresAt: expiresAt)
    }

    func scimTokens() async throws -> [Components.Schemas.ScimToken] {
        let rows = try await query(
            """
            SELECT id, name, created_at, created_by, expires_at, revoked_at FROM scim_tokens
            WHERE organisation_id = \(principal.organisationId)
            ORDER BY created_at DESC, id
            """)
        var tokens: [Components.Schemas.ScimToken] = []
        for try await row in rows {
            let row = row.makeRandomAccess()
            tokens.append(.init(
                id: try row.decode("id", as: UUID.self).text, name: try row.decode("name"), createdAt: try row.decode("created_at"),
                createdBy: try row.decode("created_by", as: UUID.self).text, expiresAt: try row.decode("expires_at"),
                revokedAt: try row.decode("revoked_at")))
        }
        return tokens
    }

    /// Revoked at once; revoking a revoked token again changes nothing and writes no event.
    func revokeScimToken(_ id: UUID) async throws {
        let rows = try await query(
            """
            SELECT revoked_at IS NOT NULL FROM scim_tokens WHERE organisation_id = \(principal.organisationId) AND id = \(id)
            FOR UPDATE
            """)
        guard let revoked = try await rows.decode(Bool.self).first(where: { _ in true }) else { throw KithError.notFound }
        guard !revoked else { return }
        try await query(
            """
            UPDATE scim_tokens SET revoked_at = now(), revoked_by = \(principal.workerId)
            WHERE organisation_id = \(principal.organisationId) AND id = \(id)
            """)
        try await auditAdministration("scimToken", recordId: id, reason: "SCIM token revoked")
    }
}
