import AsyncHTTPClient
import Crypto
import Foundation
import KithCore
import NIOCore

/// A real OpenID provider on loopback (oidc-provider-mock, started by `deploy/testing/oidc-provider.sh`), and what a
/// person's browser and a native client do with it: the authorization code flow with PKCE, its form answered as a
/// subject, the code exchanged for an ID token.
struct OpenIDProvider: Sendable {
    let issuer: String
    let folder: String

    static func run<Result: Sendable>(_ body: @Sendable (OpenIDProvider) async throws -> Result) async throws -> Result {
        let provider = try await Ports.retrying { port in
            let folder = "/tmp/kith-oidc-\(UUID().uuidString.prefix(8))"
            try await Script.run("oidc-provider.sh", ["start", folder, "\(port)"])
            return OpenIDProvider(issuer: "http://127.0.0.1:\(port)", folder: folder)
        }
        do {
            let result = try await body(provider)
            try await Script.run("oidc-provider.sh", ["stop", provider.folder])
            return result
        } catch {
            try? await Script.run("oidc-provider.sh", ["stop", provider.folder])
            throw error
        }
    }

    /// Claims the provider adds to `subject`'s tokens (`amr`, `oid`, …), replacing any set before.
    func setClaims(of subject: String, _ claims: [String: Any]) async throws {
        var request = HTTPClientRequest(url: "\(issuer)/users/\(subject)")
        request.method = .PUT
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: claims)))
        let response = try await Self.client.execute(request, timeout: .seconds(10))
        guard response.status == .noContent || response.status == .ok else { throw Failed(step: "PUT /users", status: response.status.code) }
    }

    /// An ID token for `subject`, as a native client gets one: the authorization form answered (as the person would in
    /// their browser) with PKCE S256 and a nonce, and the code exchanged at the token endpoint.
    func idToken(for subject: String, clientId: String = "kith", nonce: String = "kith-test-nonce") async throws -> String {
        let verifier = Data((0..<32).map { _ in UInt8.random(in: .min ... .max) }).base64URL
        let challenge = Data(SHA256.hash(data: Data(verifier.utf8))).base64URL
        let redirect = "http://127.0.0.1:1/callback"
        var query = URLComponents()
        query.queryItems = [
            .init(name: "client_id", value: clientId), .init(name: "redirect_uri", value: redirect),
            .init(name: "response_type", value: "code"), .init(name: "scope", value: "openid"), .init(name: "nonce", value: nonce),
            .init(name: "state", value: "kith-test-state"), .init(name: "code_challenge", value: challenge),
            .init(name: "code_challenge_method", value: "S256"),
        ]
        var authorize = HTTPClientRequest(url: "\(issuer)/oauth2/authorize?\(query.percentEncodedQuery!)")
        authorize.method = .POST
        authorize.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        authorize.body = .bytes(ByteBuffer(string: "sub=\(subject)"))
        let answered = try await Self.client.execute(authorize, timeout: .seconds(10))
        guard let location = answered.headers.first(name: "location"),
              let code = URLComponents(string: location)?.queryItems?.first(where: { $0.name == "code" })?.value
        else { throw Failed(step: "authorize", status: answered.status.code) }

        var exchange = HTTPClientRequest(url: "\(issuer)/oauth2/token")
        exchange.method = .POST
        exchange.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        var form = URLComponents()
        form.queryItems = [
            .init(name: "grant_type", value: "authorization_code"), .init(name: "code", value: code),
            .init(name: "redirect_uri", value: redirect), .init(name: "client_id", value: clientId),
            .init(name: "client_secret", value: "kith-test-secret"), .init(name: "code_verifier", value: verifier),
        ]
        exchange.body = .bytes(ByteBuffer(string: form.percentEncodedQuery!))
        let tokens = try await Self.client.execute(exchange, timeout: .seconds(10))
        let body = try await tokens.body.collect(upTo: 1 << 20)
        guard tokens.status == .ok, let json = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
              let idToken = json["id_token"] as? String
        else { throw Failed(step: "token", status: tokens.status.code) }
        return idToken
    }

    /// The person's answer on the provider's authorization form at `address` (where Kith sent their browser): signed in as
    /// `subject`, or, with nil, denied. Where the provider sends the browser back.
    func answer(_ address: String, as subject: String?) async throws -> URLComponents {
        var authorize = HTTPClientRequest(url: address)
        authorize.method = .POST
        authorize.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        authorize.body = .bytes(ByteBuffer(string: subject.map { "sub=\($0)" } ?? "action=deny"))
        let answered = try await Self.client.execute(authorize, timeout: .seconds(10))
        guard let location = answered.headers.first(name: "location"), let back = URLComponents(string: location) else {
            throw Failed(step: "authorize", status: answered.status.code)
        }
        return back
    }

    /// A public client (no secret, PKCE) registered with the provider for `redirect` (RFC 7591): its client id.
    func registerPublicClient(redirect: String) async throws -> String {
        var request = HTTPClientRequest(url: "\(issuer)/oauth2/clients")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(
            withJSONObject: ["redirect_uris": [redirect], "token_endpoint_auth_method": "none"])))
        let response = try await Self.client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard let json = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any], let id = json["client_id"] as? String
        else { throw Failed(step: "register", status: response.status.code) }
        return id
    }

    struct Failed: Error { let step: String; let status: UInt }

    /// The person's browser and the native client: redirects are read, not followed (the redirect is the answer). A
    /// connection per request: the provider (uvicorn) closes one idle for 5 s, and on a loaded machine a request sent as
    /// it does failed with `remoteConnectionClosed` (CI met it).
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.maximumUsesPerConnection = 1
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()
}
