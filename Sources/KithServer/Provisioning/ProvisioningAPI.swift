import Foundation
import KithAPI
import KithCore

/// The tokens administrators make for the identity provider's provisioning service (SCIM 2.0 at `/scim/v2`, `SCIM`).
/// Each handler reaches the database in one transaction of `records`.
extension KithService {
    func listScimTokens(_ input: Operations.ListScimTokens.Input) async throws -> Operations.ListScimTokens.Output {
        try Principal.required().require(.admin, "administrators")
        let tokens = try await records { try await $0.scimTokens() }
        return .ok(.init(body: .json(.init(items: tokens))))
    }

    func createScimToken(_ input: Operations.CreateScimToken.Input) async throws -> Operations.CreateScimToken.Output {
        try Principal.required().require(.admin, "administrators")
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        check.requiredText("name", body.name, max: 200)
        check.range("expiresInDays", body.expiresInDays, 1...730)
        try check.orThrow()
        let created = try await records { try await $0.createScimToken(named: body.name, days: body.expiresInDays ?? 365) }
        return .created(.init(body: .json(created)))
    }

    func revokeScimToken(_ input: Operations.RevokeScimToken.Input) async throws -> Operations.RevokeScimToken.Output {
        try Principal.required().require(.admin, "administrators")
        let id = try UUID(path: input.path.scimTokenId)
        try await records { try await $0.revokeScimToken(id) }
        return .noContent(.init())
    }
}
