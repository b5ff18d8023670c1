import Foundation
import KithAPI

/// Invitations to the family's page: made and revoked by the family's allocated worker or supervisors.
extension KithService {
    func invitePerson(_ input: Operations.InvitePerson.Input) async throws -> Operations.InvitePerson.Output {
        let personId = try UUID(path: input.path.personId)
        let invitation = try await records { records in
            try await records.invite(
                personId, access: try await records.access(.people, personId, for: .invite), secret: .generate(),
                base: config.publicBase)
        }
        return .created(.init(body: .json(invitation)))
    }

    func listInvitations(_ input: Operations.ListInvitations.Input) async throws -> Operations.ListInvitations.Output {
        let familyId = try UUID(path: input.path.familyId)
        let invitations = try await readFamily(familyId, "invitations") { records, _ in
            try await records.invitations(familyId: familyId)
        }
        return .ok(.init(body: .json(.init(items: invitations))))
    }

    func revokeInvitation(_ input: Operations.RevokeInvitation.Input) async throws -> Operations.RevokeInvitation.Output {
        let id = try UUID(path: input.path.invitationId)
        let invitation = try await records { records in
            try await records.revokeInvitation(id, access: try await records.access(.invitations, id, for: .invite))
        }
        return .ok(.init(body: .json(invitation)))
    }
}
