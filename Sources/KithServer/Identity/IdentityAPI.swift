import Foundation
import KithAPI
import KithCore
import Logging

/// Signing in through the organisation's own identity provider (OpenID Connect): administrators point Kith at it, and a
/// worker whose `ssoSubject` it vouches for signs in with its ID token. Each handler reaches the database in
/// transactions of `records` or, before anyone is signed in, `db.transaction` for the provider's organisation.
extension KithService {
    func getIdentityProvider(_ input: Operations.GetIdentityProvider.Input) async throws -> Operations.GetIdentityProvider.Output {
        try Principal.required().require(.admin, "administrators")
        guard let provider = try await records({ try await $0.identityProvider() }) else { throw KithError.notFound }
        return .ok(.init(body: .json(provider)))
    }

    func putIdentityProvider(_ input: Operations.PutIdentityProvider.Input) async throws -> Operations.PutIdentityProvider.Output {
        let principal = try Principal.required()
        try principal.require(.admin, "administrators")
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        check.matches("signInName", body.signInName, #"^[a-z0-9][a-z0-9-]{1,39}$"#, "2 to 40 lower-case letters, digits and hyphens")
        check.text("issuer", body.issuer, min: 8, max: 500)
        check.matches("clientId", body.clientId, Validation.visible(max: 500), "1 to 500 characters, no spaces")
        if let secret = body.clientSecret {
            check.matches("clientSecret", secret, Validation.visible(max: 500), "1 to 500 characters, no spaces")
        }
        if let claim = body.subjectClaim { check.matches("subjectClaim", claim, #"^[A-Za-z_][A-Za-z0-9_]{0,63}$"#, "a claim's name") }
        try check.orThrow()
        if let holder = try await ProviderForSignIn.find(body.signInName, in: db), holder.organisation != principal.organisationId {
            throw KithError.conflict("sign_in_name_taken", "Another organisation on this server signs in as \(body.signInName).")
        }
        let documents = try await ProviderDocuments.fetch(issuer: body.issuer, httpOnLoopback: config.httpIssuersOnLoopback)
        let saved = try await records { try await $0.saveIdentityProvider(body, documents: documents) }
        return .ok(.init(body: .json(saved)))
    }

    func loginWithIdToken(_ input: Operations.LoginWithIdToken.Input) async throws -> Operations.LoginWithIdToken.Output {
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        check.text("organisation", body.organisation, min: 2, max: 40)
        check.matches("idToken", body.idToken, #"^[A-Za-z0-9_.-]{1,16384}$"#, "a JWT in its compact form")
        try check.orThrow()
        guard let provider = try await ProviderForSignIn.find(body.organisation, in: db) else {
            throw KithError.invalidField("organisation", "no organisation on this server signs in as \(body.organisation)")
        }
        let subject = try await checked {
            try await provider.subject(of: body.idToken, nonce: nil, db: db, httpOnLoopback: config.httpIssuersOnLoopback, logger: logger)
        }
        guard let worker = try await ProviderSignIn.vouchedFor(
            subject, way: .oidc, organisation: provider.organisation, db: db, logger: logger),
            let session = try await openSession(organisation: provider.organisation, worker: worker, way: .oidc)
        else {
            throw KithError(
                status: .unauthorized, code: "unknown_subject",
                detail: "The identity provider vouched for someone who is not an active worker of this organisation.")
        }
        return .ok(.init(body: .json(session)))
    }

    func getSignInProvider(_ input: Operations.GetSignInProvider.Input) async throws -> Operations.GetSignInProvider.Output {
        let name = input.path.organisation
        guard name.count <= 40, let provider = try await ProviderForSignIn.find(name, in: db) else { throw KithError.notFound }
        return .ok(.init(body: .json(.init(
            organisation: name.lowercased(), issuer: provider.expected.issuer,
            authorizationEndpoint: provider.discovery.authorization_endpoint, tokenEndpoint: provider.discovery.token_endpoint,
            clientId: provider.expected.clientId))))
    }

    /// What `IDTokens` refuses, as the client hears it: 401, and why (never what the token held), also in the log.
    private func checked<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let refusal as IDTokens.Refusal {
            logger.info("ID token refused", metadata: ["why": .string(refusal.rawValue)])
            throw KithError(
                status: .unauthorized, code: refusal == .mfa ? "mfa_required" : "invalid_id_token",
                detail: "The identity provider's token was refused: \(refusal.rawValue).")
        }
    }
}
