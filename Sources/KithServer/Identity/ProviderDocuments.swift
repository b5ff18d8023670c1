import AsyncHTTPClient
import Foundation
import JWTKit
import NIOCore

/// What Kith keeps of an identity provider from its own documents: its OpenID discovery document and the signing keys
/// it names, fetched when an administrator saves the provider and again when a token names a key not yet seen.
struct ProviderDocuments: Sendable {
    /// The discovery document as fetched.
    let discovery: Data
    /// The signing keys (JWKS) as fetched.
    let jwks: Data

    /// The endpoints Kith reads from a discovery document.
    struct Discovery: Decodable {
        let issuer: String
        let jwks_uri: String
        let authorization_endpoint: String
        let token_endpoint: String
    }

    /// Fetches `{issuer}/.well-known/openid-configuration` and its JWKS. Refuses, naming `issuer`, what cannot be fetched,
    /// a document for another issuer, and a key set without a key Kith can check a signature with.
    static func fetch(issuer: String, httpOnLoopback: Bool) async throws -> ProviderDocuments {
        func refused(_ why: String) -> KithError {
            KithError.malformed("The identity provider cannot be used.", fields: [.init(field: "issuer", message: why)])
        }
        if let problem = addressProblem(issuer, httpOnLoopback: httpOnLoopback) { throw refused(problem) }
        let configuration = issuer.hasSuffix("/") ? issuer + ".well-known/openid-configuration" : issuer + "/.well-known/openid-configuration"
        let discovery: Data
        do { discovery = try await get(configuration) } catch { throw refused("its discovery document could not be fetched (\(configuration))") }
        guard let document = try? JSONDecoder().decode(Discovery.self, from: discovery) else {
            throw refused("\(configuration) is not an OpenID discovery document (issuer, jwks_uri, authorization_endpoint, token_endpoint)")
        }
        guard document.issuer == issuer else { throw refused("its discovery document names another issuer, \(document.issuer)") }
        let keys = try await fetchKeys(document.jwks_uri, httpOnLoopback: httpOnLoopback, refused: refused)
        return ProviderDocuments(discovery: discovery, jwks: keys)
    }

    /// The provider's signing keys from `jwks_uri`, with at least one key Kith checks signatures with.
    static func fetchKeys(
        _ address: String, httpOnLoopback: Bool, refused: (String) -> any Error
    ) async throws -> Data {
        if let problem = addressProblem(address, httpOnLoopback: httpOnLoopback) { throw refused("jwks_uri: \(problem)") }
        let keys: Data
        do { keys = try await get(address) } catch { throw refused("its signing keys could not be fetched (\(address))") }
        guard let set = try? JSONDecoder().decode(JWKS.self, from: keys), set.keys.contains(where: IDTokens.checksWith) else {
            throw refused("\(address) holds no RSA or P-256 signing key")
        }
        return keys
    }

    /// Why an address is not one Kith fetches from: only `https://`, or `http://` on this machine where the operator
    /// allows it (`KITH_OIDC_HTTP_ISSUERS=loopback`).
    static func addressProblem(_ address: String, httpOnLoopback: Bool) -> String? {
        guard let url = URL(string: address), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty,
              url.query == nil, url.fragment == nil
        else { return "must be an https:// address without a query" }
        if scheme == "https" { return nil }
        if scheme == "http", httpOnLoopback, ["127.0.0.1", "::1", "[::1]", "localhost"].contains(host.lowercased()) { return nil }
        return httpOnLoopback ? "must be https://, or http:// on this machine" : "must be an https:// address"
    }

    /// The provider's token endpoint did not give an ID token for the code.
    struct ExchangeFailed: Error { let status: UInt }

    /// The ID token for an authorization code, from the provider's token endpoint (the client's secret in the form,
    /// `client_secret_post`, and the PKCE verifier).
    static func exchange(
        code: String, at endpoint: String, clientId: String, secret: String?, redirect: String, verifier: String, httpOnLoopback: Bool
    ) async throws -> String {
        guard addressProblem(endpoint, httpOnLoopback: httpOnLoopback) == nil else { throw ExchangeFailed(status: 0) }
        var form = URLComponents()
        form.queryItems = [
            .init(name: "grant_type", value: "authorization_code"), .init(name: "code", value: code),
            .init(name: "redirect_uri", value: redirect), .init(name: "client_id", value: clientId),
            .init(name: "code_verifier", value: verifier),
        ] + (secret.map { [.init(name: "client_secret", value: $0)] } ?? [])
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        // A form's `+` is a space: the percent-encoded query leaves it as it is.
        request.body = .bytes(ByteBuffer(string: form.percentEncodedQuery!.replacingOccurrences(of: "+", with: "%2B")))
        let response = try await client.execute(request, timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 20)
        struct Tokens: Decodable { let id_token: String }
        guard response.status == .ok, let tokens = try? JSONDecoder().decode(Tokens.self, from: Data(buffer: body)) else {
            throw ExchangeFailed(status: response.status.code)
        }
        return tokens.id_token
    }

    /// Fetches providers' documents, following no redirect (which could lead where `addressProblem` would refuse).
    /// Each request has a connection of its own: a provider closes idle connections on a clock of its own (uvicorn after
    /// 5 s), and a request sent on one it is closing fails, a person's one-time code with it. Sign-ins are too rare for
    /// the new connection to cost anything. Like `HTTPClient.shared`, it lives as long as the process.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(5)))
        configuration.maximumUsesPerConnection = 1
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// A provider's document: five seconds at most, a mebibyte at most.
    private static func get(_ address: String) async throws -> Data {
        var request = HTTPClientRequest(url: address)
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await client.execute(request, timeout: .seconds(5))
        guard response.status == .ok else { throw HTTPClientError.invalidURL }
        return Data(buffer: try await response.body.collect(upTo: 1 << 20))
    }
}
