import Foundation
import KithAPI
import Logging
import PostgresNIO

/// An organisation's identity provider as a sign-in finds it, by its sign-in name and before the organisation is
/// known (`kith_identity_provider`, db/functions/).
struct ProviderForSignIn: Sendable {
    static let columns = "organisation_id, issuer, client_id, subject_claim, require_mfa, discovery::text AS discovery, jwks::text AS jwks, jwks_fetched_at"

    let organisation: UUID
    let expected: IDTokens.Expected
    let discovery: ProviderDocuments.Discovery
    let jwks: Data
    let jwksFetchedAt: Date

    init(_ row: PostgresRow) throws {
        let row = row.makeRandomAccess()
        organisation = try row.decode("organisation_id")
        expected = .init(
            issuer: try row.decode("issuer"), clientId: try row.decode("client_id"), subjectClaim: try row.decode("subject_claim"),
            requireMfa: try row.decode("require_mfa"))
        discovery = try JSONDecoder().decode(ProviderDocuments.Discovery.self, from: Data(try row.decode("discovery", as: String.self).utf8))
        jwks = Data(try row.decode("jwks", as: String.self).utf8)
        jwksFetchedAt = try row.decode("jwks_fetched_at")
    }

    static func find(_ signInName: String, in db: Database) async throws -> ProviderForSignIn? {
        try await db.definerLookup(
            IdentityProviderLookup.self,
            "SELECT \(unescaped: columns) FROM kith_identity_provider(\(signInName))"
        ).map(ProviderForSignIn.init)
    }
}

/// The provider a sign-in names, looked up before its organisation is known.
enum IdentityProviderLookup: HotStatement {}

extension Records {
    /// The organisation's identity provider, as administrators see it.
    func identityProvider() async throws -> Components.Schemas.IdentityProvider? {
        try await query(
            """
            SELECT sign_in_name, issuer, client_id, client_secret IS NOT NULL AS has_client_secret, subject_claim, require_mfa,
                   passwords, updated_at
            FROM identity_providers WHERE organisation_id = \(principal.organisationId)
            """
        ).collect().first.map { row in
            let row = row.makeRandomAccess()
            return .init(
                signInName: try row.decode("sign_in_name"), issuer: try row.decode("issuer"), clientId: try row.decode("client_id"),
                hasClientSecret: try row.decode("has_client_secret"), subjectClaim: try row.decode("subject_claim"),
                requireMfa: try row.decode("require_mfa"),
                passwords: .init(rawValue: try row.decode("passwords")) ?? .allowed, updatedAt: try row.decode("updated_at"))
        }
    }

    /// Saves the organisation's identity provider with the documents just fetched from it (a secret left out keeps the
    /// one saved), in the organisation's feed.
    func saveIdentityProvider(
        _ settings: Components.Schemas.IdentityProviderSettings, documents: ProviderDocuments
    ) async throws -> Components.Schemas.IdentityProvider {
        let discovery = String(decoding: documents.discovery, as: UTF8.self), jwks = String(decoding: documents.jwks, as: UTF8.self)
        try await query(
            """
            INSERT INTO identity_providers (organisation_id, sign_in_name, issuer, client_id, client_secret, subject_claim,
                                            require_mfa, passwords, discovery, jwks, updated_by)
            VALUES (\(principal.organisationId), \(settings.signInName), \(settings.issuer), \(settings.clientId),
                    \(settings.clientSecret), \(settings.subjectClaim ?? "sub"), \(settings.requireMfa ?? false),
                    \(settings.passwords.rawValue), \(discovery)::jsonb, \(jwks)::jsonb, \(principal.workerId))
            ON CONFLICT (organisation_id) DO UPDATE SET
                sign_in_name = EXCLUDED.sign_in_name, issuer = EXCLUDED.issuer, client_id = EXCLUDED.client_id,
                client_secret = coalesce(EXCLUDED.client_secret, identity_providers.client_secret),
                subject_claim = EXCLUDED.subject_claim, require_mfa = EXCLUDED.require_mfa, passwords = EXCLUDED.passwords,
                discovery = EXCLUDED.discovery, jwks = EXCLUDED.jwks, jwks_fetched_at = now(), updated_at = now(),
                updated_by = EXCLUDED.updated_by
            """)
        let saved = try await identityProvider()!
        try await auditAdministration(
            "identityProvider", recordId: nil,
            reason: "sign-in name \(saved.signInName), issuer \(saved.issuer), client \(saved.clientId), subject claim "
                + "\(saved.subjectClaim), multi-factor \(saved.requireMfa ? "required" : "not required"), passwords \(saved.passwords.rawValue)")
        return saved
    }

    /// Whether Kith's own passwords still sign people in to the organisation.
    func passwordsAllowed() async throws -> Bool {
        try await query(
            "SELECT passwords FROM identity_providers WHERE organisation_id = \(principal.organisationId)"
        ).collect().first?.decode(String.self) != "off"
    }

    /// The caller's sign-in, in the organisation's feed.
    func auditSignIn(_ way: WayIn) async throws {
        try await ProviderSignIn.audit(way, worker: principal.workerId, on: connection, logger: logger)
    }
}

/// What a sign-in through the provider reads and writes behind the wall of the provider's organisation, before anyone
/// is signed in.
enum ProviderSignIn {
    /// The active worker the provider's subject belongs to, if any.
    private static func worker(subject: String, organisation: UUID, on connection: PostgresConnection, logger: Logger) async throws -> UUID? {
        try await connection.query(
            """
            SELECT id FROM workers
            WHERE organisation_id = \(organisation) AND sso_subject = \(subject) AND (left_on IS NULL OR left_on > current_date)
            """, logger: logger
        ).collect().first?.decode(UUID.self)
    }

    /// The active worker the provider vouched for by `subject`; nil, with the attempt in the organisation's feed, when
    /// the subject is no active worker's.
    static func vouchedFor(_ subject: String, way: WayIn, organisation: UUID, db: Database, logger: Logger) async throws -> UUID? {
        try await db.transaction(organisation: organisation) { connection in
            let found = try await worker(subject: subject, organisation: organisation, on: connection, logger: logger)
            if found == nil {
                try await audit(way, worker: nil, reason: "the identity provider's subject is no active worker's", on: connection, logger: logger)
            }
            return found
        }
    }

    /// The client's secret, for exchanging a code at the provider's token endpoint (nil when none was saved).
    static func clientSecret(organisation: UUID, on connection: PostgresConnection, logger: Logger) async throws -> String? {
        try await connection.query(
            "SELECT client_secret FROM identity_providers WHERE organisation_id = \(organisation)", logger: logger
        ).collect().first?.decode(String?.self)
    }

    /// The provider's signing keys, fetched again because a token named one Kith had not seen.
    /// The provider's keys as fetched now; nil when they could not be fetched, which counts as a fetch all the same
    /// (the keys kept as they were), so that an unreachable provider is not asked again for every token.
    static func saveKeys(_ jwks: Data?, organisation: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            UPDATE identity_providers
            SET jwks = coalesce(\(jwks.map { String(decoding: $0, as: UTF8.self) })::jsonb, jwks), jwks_fetched_at = now()
            WHERE organisation_id = \(organisation)
            """, logger: logger)
    }

    /// A sign-in in the organisation's feed: a worker's, or, with `worker` nil, one the provider vouched for that signed
    /// nobody in, and why.
    static func audit(_ way: WayIn, worker: UUID?, reason: String? = nil, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "SELECT kith_audit(\(worker), NULL, NULL, 'signIn', \(way.rawValue), ARRAY[\(worker)::uuid], \(reason), ARRAY[false], '{}')",
            logger: logger)
    }
}

/// How a worker signed in, the entity of their sign-in's audit event.
enum WayIn: String {
    case password, oidc, deviceGrant
}

extension ProviderForSignIn {
    /// The person an ID token names, checked by `IDTokens`. A token naming a key not yet seen (the provider rotated its
    /// keys) has the keys fetched again and kept, at most once a minute, so that tokens made up with random key ids cannot
    /// make the server fetch for them.
    func subject(of token: String, nonce: String?, db: Database, httpOnLoopback: Bool, logger: Logger) async throws -> String {
        let header = try IDTokens.header(of: token)
        var key = try IDTokens.key(for: header, in: jwks)
        if key == nil, jwksFetchedAt < Date().addingTimeInterval(-60) {
            let fresh = try? await ProviderDocuments.fetchKeys(
                discovery.jwks_uri, httpOnLoopback: httpOnLoopback, refused: { _ in IDTokens.Refusal.unknownKey })
            try await db.transaction(organisation: organisation) { connection in
                try await ProviderSignIn.saveKeys(fresh, organisation: organisation, on: connection, logger: logger)
            }
            key = try fresh.flatMap { try IDTokens.key(for: header, in: $0) }
        }
        guard let key else { throw IDTokens.Refusal.unknownKey }
        var expected = expected
        expected.nonce = nonce
        return try await IDTokens.subject(of: token, key: key, expected: expected)
    }
}
