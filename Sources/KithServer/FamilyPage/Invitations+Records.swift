import Foundation
import KithAPI
import Logging
import PostgresNIO

extension Records {
    /// A new invitation for someone in the family's network who has not left it, to an open family.
    func invite(
        _ personId: UUID, access: FamilyAccess, secret: InvitationSecret, base: URL
    ) async throws -> Components.Schemas.NewInvitation {
        let id = UUID()
        let expiresAt = Date().addingTimeInterval(InvitationSecret.unusedLifetime)
        let made = try await query(
            """
            INSERT INTO family_invitations (organisation_id, id, family_id, person_id, link_hash, code_hash, created_by, expires_at)
            SELECT \(principal.organisationId), \(id), p.family_id, p.id, \(secret.linkHash), \(secret.codeHash),
                   \(principal.workerId), \(expiresAt)
            FROM people p JOIN families f ON f.organisation_id = p.organisation_id AND f.id = p.family_id
            WHERE p.organisation_id = \(principal.organisationId) AND p.id = \(personId) AND f.status = 'open'
              AND (p.left_network_on IS NULL OR p.left_network_on > current_date)
            RETURNING id
            """).decode(UUID.self).first { _ in true }
        guard made != nil else {
            throw KithError(
                status: .unprocessableContent, code: "not_invitable",
                detail: "Only someone still in the network of an open family can be invited to the family's page.")
        }
        try await audit(.write, "invitation", recordId: id, access: access)
        return .init(
            id: id.text, personId: personId.text, url: InvitationSecret.url(base: base, link: secret.link), code: secret.code,
            expiresAt: expiresAt)
    }

    func invitations(familyId: UUID, only id: UUID? = nil) async throws -> [Components.Schemas.Invitation] {
        let rows = try await query(
            """
            SELECT i.id, i.family_id, i.person_id, p.name AS person_name, i.created_by, i.created_at, i.expires_at,
                   i.opened_at, i.revoked_at,
                   CASE WHEN i.revoked_at IS NOT NULL THEN 'revoked'
                        WHEN NOT kith_member_active(i.person_id) THEN 'ended'
                        WHEN i.opened_at <= now() - interval '180 days' THEN 'expired'
                        WHEN i.opened_at IS NOT NULL THEN 'opened'
                        WHEN i.expires_at <= now() THEN 'expired'
                        ELSE 'waiting' END AS status
            FROM family_invitations i
            JOIN people p ON p.organisation_id = i.organisation_id AND p.id = i.person_id
            WHERE i.organisation_id = \(principal.organisationId) AND i.family_id = \(familyId)
              AND (\(id)::uuid IS NULL OR i.id = \(id))
            ORDER BY i.created_at DESC, i.id
            """)
        var invitations: [Components.Schemas.Invitation] = []
        for try await row in rows {
            let row = row.makeRandomAccess()
            invitations.append(.init(
                id: try row.decode("id", as: UUID.self).text, familyId: try row.decode("family_id", as: UUID.self).text,
                personId: try row.decode("person_id", as: UUID.self).text, personName: try row.decode("person_name"),
                invitedBy: try row.decode("created_by", as: UUID.self).text, createdAt: try row.decode("created_at"),
                expiresAt: try row.decode("expires_at"), openedAt: try row.decode("opened_at"),
                revokedAt: try row.decode("revoked_at"), status: .init(rawValue: try row.decode("status")) ?? .revoked))
        }
        return invitations
    }

    /// Ends the invitation and every page session opened with it; revoking again changes nothing.
    func revokeInvitation(_ id: UUID, access: FamilyAccess) async throws -> Components.Schemas.Invitation {
        let revoked = try await query(
            """
            UPDATE family_invitations SET revoked_at = now(), revoked_by = \(principal.workerId)
            WHERE organisation_id = \(principal.organisationId) AND id = \(id) AND revoked_at IS NULL
            RETURNING id
            """).decode(UUID.self).first { _ in true }
        if revoked != nil {
            try await query(
                """
                UPDATE family_sessions SET revoked_at = now()
                WHERE organisation_id = \(principal.organisationId) AND invitation_id = \(id) AND revoked_at IS NULL
                """)
            try await audit(.write, "invitation", recordId: id, access: access)
        }
        guard let invitation = try await invitations(familyId: access.familyId, only: id).first else { throw KithError.notFound }
        return invitation
    }
}
