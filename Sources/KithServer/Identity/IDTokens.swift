import Foundation
import JWTKit
import KithCore

/// The one place an ID token from an organisation's identity provider is checked. The signature is jwt-kit's to check,
/// against the provider's own key named by the token (RS256 on an RSA key or ES256 on a P-256 key; `none`, HMAC and
/// every other algorithm refused before any key is looked at); then the issuer exactly, the audience (the
/// organisation's client id among it), the times with two minutes' skew at most, the nonce where Kith sent one, and
/// `mfa` among `amr` where the organisation requires it. What it answers is the person's subject.
enum IDTokens {
    static let skew: TimeInterval = 120
    /// The algorithms Kith accepts, with the key type each is checked with.
    static let algorithms: [String: JWK.KeyType] = ["RS256": .rsa, "ES256": .ecdsa]

    /// Whether Kith checks signatures with this key: an RSA or P-256 public key with an id.
    static func checksWith(_ key: JWK) -> Bool {
        guard key.keyIdentifier != nil, key.privateExponent == nil else { return false }
        return key.keyType == .rsa || (key.keyType == .ecdsa && key.curve?.rawValue == "P-256")
    }

    /// What an organisation's provider is trusted for.
    struct Expected: Sendable {
        let issuer: String
        let clientId: String
        let subjectClaim: String
        let requireMfa: Bool
        /// The nonce Kith sent with the authorization request, if it sent one.
        var nonce: String?
    }

    /// Why a token signs nobody in; said to the operator's log and the audit, never what the token held.
    enum Refusal: String, Error {
        case malformed = "the token is not a signed JWT"
        case algorithm = "the token is signed with an algorithm Kith does not accept"
        case unknownKey = "the token names a key the provider does not publish"
        case signature = "the token's signature does not verify"
        case issuer = "the token is from another issuer"
        case audience = "the token is for another client"
        case expired = "the token has expired"
        case notYetValid = "the token is not valid yet"
        case nonce = "the token answers another sign-in"
        case mfa = "the organisation requires multi-factor authentication and the token does not say it was used"
        case subject = "the token does not name a person in the organisation's subject claim"
    }

    /// The token's header, read before its signature is checked to choose the key.
    struct Header: Decodable {
        let alg: String
        let kid: String?
    }

    static func header(of token: String) throws -> Header {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let data = Data(base64URL: parts[0]), let header = try? JSONDecoder().decode(Header.self, from: data)
        else { throw Refusal.malformed }
        return header
    }

    /// The signing key the token names among `keys` (a JWKS document), if there is one it may be checked with. A token
    /// naming no key is checked with the set's only key, if it has only one (OpenID Connect Core 10.1).
    static func key(for header: Header, in keys: Data) throws -> JWK? {
        guard let keyType = algorithms[header.alg] else { throw Refusal.algorithm }
        let usable = ((try? JSONDecoder().decode(LenientKeySet.self, from: keys))?.keys.compactMap(\.key) ?? []).filter {
            checksWith($0) && $0.keyType == keyType && ($0.algorithm == nil || $0.algorithm?.rawValue == header.alg)
        }
        guard let kid = header.kid else { return usable.count == 1 ? usable[0] : nil }
        return usable.first { $0.keyIdentifier?.string == kid }
    }

    /// The person's subject, if `token` is signed by `key` and says what `expected` asks of it at `now`.
    static func subject(of token: String, key: JWK, expected: Expected, now: Date = Date()) async throws -> String {
        let claims: Claims
        do {
            claims = try await JWTKeyCollection().add(jwk: key).verify(token, as: Claims.self)
        } catch {
            throw Refusal.signature
        }
        guard claims.string("iss") == expected.issuer else { throw Refusal.issuer }
        guard claims.strings("aud").contains(expected.clientId) else { throw Refusal.audience }
        guard let expires = claims.number("exp"), let issued = claims.number("iat") else { throw Refusal.malformed }
        let time = now.timeIntervalSince1970
        guard expires + skew > time else { throw Refusal.expired }
        guard issued - skew <= time, (claims.number("nbf") ?? time) - skew <= time else { throw Refusal.notYetValid }
        if let nonce = expected.nonce, claims.string("nonce") != nonce { throw Refusal.nonce }
        if expected.requireMfa, !claims.strings("amr").contains("mfa") { throw Refusal.mfa }
        guard let subject = claims.string(expected.subjectClaim), !subject.isEmpty, subject.count <= 255 else {
            throw Refusal.subject
        }
        return subject
    }

    /// A token's claims, whatever they are named: which one names the person is the organisation's setting. Checked by
    /// `subject(of:)`, with what the organisation expects; jwt-kit's own check of a payload has nothing to add.
    struct Claims: JWTPayload {
        let values: [String: Value]

        enum Value: Codable, Sendable {
            case text(String), number(Double), texts([String]), other

            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let text = try? container.decode(String.self) { self = .text(text) }
                else if let number = try? container.decode(Double.self) { self = .number(number) }
                else if let texts = try? container.decode([String].self) { self = .texts(texts) }
                else { self = .other }
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                switch self {
                case .text(let text): try container.encode(text)
                case .number(let number): try container.encode(number)
                case .texts(let texts): try container.encode(texts)
                case .other: try container.encodeNil()
                }
            }
        }

        init(from decoder: any Decoder) throws {
            values = try decoder.singleValueContainer().decode([String: Value].self)
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(values)
        }

        func verify(using algorithm: some JWTAlgorithm) async throws {}

        func string(_ name: String) -> String? {
            if case .text(let text) = values[name] { text } else { nil }
        }

        /// A claim that may be one string or several (`aud`, `amr`).
        func strings(_ name: String) -> [String] {
            switch values[name] {
            case .text(let text): [text]
            case .texts(let texts): texts
            default: []
            }
        }

        func number(_ name: String) -> Double? {
            if case .number(let number) = values[name] { number } else { nil }
        }
    }

    /// A JWKS whose keys Kith cannot use (a symmetric key, a curve jwt-kit does not know) are left out rather than
    /// spoiling the set.
    struct LenientKeySet: Decodable {
        let keys: [LenientKey]
    }

    struct LenientKey: Decodable {
        let key: JWK?
        init(from decoder: any Decoder) throws { key = try? JWK(from: decoder) }
    }
}
