import AsyncHTTPClient
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import KithCore
import NIOCore

/// The pages of the device grant (`DeviceSignIns`), served with the family page's HTML and headers:
/// `/sign-in/NAME/device` asks the person to confirm the code their device shows, and sends them to the organisation's
/// identity provider (authorization code flow, PKCE S256, state and nonce); `/sign-in/NAME/callback` takes the
/// provider's answer, checks its ID token (`IDTokens`, with the nonce sent) and approves or refuses the device's sign-in.
///
/// Two cookies tie the steps to one browser. The confirmation form's token is keyed by a random cookie the page set
/// (SameSite=Strict), so another site cannot submit the form for a code of its own and have a person who is already
/// signed in at the provider approve it without a word; the state is kept in a cookie too (SameSite=Lax, so that it
/// comes back with the provider's redirect), and the callback takes only the state its browser was sent with.
extension FamilyPage {
    static let deviceCookie = "kith_device_sign_in", stateCookie = "kith_device_state"

    func registerDeviceSignIn(on router: Router<KithRequestContext>, httpIssuersOnLoopback: Bool) {
        router.get("/sign-in/:name/device") { request, context in
            await respond(request) { _ in try await confirmPage(request, name: try context.parameters.require("name")) }
        }
        router.post("/sign-in/:name/device") { request, context in
            await respond(request) { _ in try await sendToProvider(request, name: try context.parameters.require("name")) }
        }
        router.get("/sign-in/:name/callback") { request, context in
            await respond(request) { _ in
                try await providerAnswered(request, name: try context.parameters.require("name"), httpOnLoopback: httpIssuersOnLoopback)
            }
        }
    }

    struct DeviceView { let title = "Sign in on your device"; let action: String; let csrf: String; let code: String; let error: String? }
    struct DeviceForm: Decodable { let code: String; let csrf: String }

    private func provider(_ name: String) async throws -> ProviderForSignIn {
        guard name.count <= 40, let provider = try await ProviderForSignIn.find(name, in: db) else { throw FamilyPageRefusal.noSuchSignIn }
        return provider
    }

    private func confirmPage(_ request: Request, name: String, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let provider = try await provider(name)
        let secret = Tokens.generate()
        let code = String((request.uri.queryParameters["code"].map(String.init) ?? "").prefix(9)).uppercased()
        var response = html(status, "device-sign-in", DeviceView(
            action: "/sign-in/\(name)/device", csrf: Self.formToken(key: secret, for: "device sign-in"), code: code, error: error),
            workersWords)
        response.headers[.setCookie] = cookie(Self.deviceCookie, secret, path: "/sign-in/\(name)/device", sameSite: "Strict", maxAge: 900)
        // The form's answer is a redirect to the provider, which a browser holds to `form-action` too.
        if let endpoint = URL(string: provider.discovery.authorization_endpoint), let scheme = endpoint.scheme, let host = endpoint.host {
            let origin = "\(scheme)://\(host)" + (endpoint.port.map { ":\($0)" } ?? "")
            let policy = HTTPField.Name("Content-Security-Policy")!
            response.headers[policy] = Self.securityHeaders[policy]?.replacingOccurrences(of: "form-action 'self'", with: "form-action 'self' \(origin)")
        }
        return response
    }

    private func sendToProvider(_ request: Request, name: String) async throws -> Response {
        let form = try await Self.form(DeviceForm.self, request, base: base)
        guard let secret = request.cookies[Self.deviceCookie]?.value, Self.isFormToken(form.csrf, key: secret, for: "device sign-in")
        else { throw FamilyPageRefusal.deviceFormForged }
        let provider = try await provider(name)
        let code = form.code.trimmingWhitespace().uppercased()
        let state = Tokens.generate(), nonce = Tokens.generate()
        let verifier = Tokens.generate()
        let found = try await db.transaction(organisation: provider.organisation) { connection -> Bool in
            guard code.count <= 9, let id = try await DeviceSignIns.waiting(
                userCode: code, organisation: provider.organisation, on: connection, logger: logger)
            else { return false }
            try await DeviceSignIns.sendToProvider(
                id, stateHash: Tokens.hash(state), nonce: nonce, verifier: verifier, organisation: provider.organisation,
                on: connection, logger: logger)
            return true
        }
        guard found else {
            return try await confirmPage(
                request, name: name, error: "That code is not one waiting to sign in. Check it on your device, or start again there.",
                status: .unprocessableContent)
        }
        var query = URLComponents()
        query.queryItems = [
            .init(name: "client_id", value: provider.expected.clientId), .init(name: "response_type", value: "code"),
            .init(name: "redirect_uri", value: callback(name)), .init(name: "scope", value: "openid"),
            .init(name: "state", value: state), .init(name: "nonce", value: nonce),
            .init(name: "code_challenge", value: Data(SHA256.hash(data: Data(verifier.utf8))).base64URL),
            .init(name: "code_challenge_method", value: "S256"),
        ]
        let separator = provider.discovery.authorization_endpoint.contains("?") ? "&" : "?"
        var headers = Self.securityHeaders
        headers[.location] = provider.discovery.authorization_endpoint + separator + query.percentEncodedQuery!
        headers[.setCookie] = cookie(Self.stateCookie, state, path: "/sign-in/\(name)/callback", sameSite: "Lax", maxAge: DeviceSignIns.lifetime)
        return Response(status: .seeOther, headers: headers)
    }

    private func providerAnswered(_ request: Request, name: String, httpOnLoopback: Bool) async throws -> Response {
        let provider = try await provider(name)
        let parameters = request.uri.queryParameters
        // A refusal that names no state (some providers' do not) cannot say which sign-in it answers: that one lapses.
        if parameters["error"] != nil, parameters["state"] == nil { throw FamilyPageRefusal.deviceSignInRefused }
        guard let state = parameters["state"].map(String.init), state.count <= 200,
              request.cookies[Self.stateCookie]?.value == state
        else { throw FamilyPageRefusal.deviceFormForged }
        let organisation = provider.organisation
        let waiting = try await db.transaction(organisation: organisation) { connection -> ((id: UUID, nonce: String, verifier: String), String?)? in
            guard let found = try await DeviceSignIns.answered(
                stateHash: Tokens.hash(state), organisation: organisation, on: connection, logger: logger)
            else { return nil }
            return (found, try await ProviderSignIn.clientSecret(organisation: organisation, on: connection, logger: logger))
        }
        guard let (found, secret) = waiting else { throw FamilyPageRefusal.deviceSignInLapsed }
        var worker: UUID?
        if let code = parameters["code"].map(String.init), code.count <= 2048 {
            do {
                let idToken = try await ProviderDocuments.exchange(
                    code: code, at: provider.discovery.token_endpoint, clientId: provider.expected.clientId, secret: secret,
                    redirect: callback(name), verifier: found.verifier, httpOnLoopback: httpOnLoopback)
                let subject = try await provider.subject(of: idToken, nonce: found.nonce, db: db, httpOnLoopback: httpOnLoopback, logger: logger)
                worker = try await ProviderSignIn.vouchedFor(subject, way: .deviceGrant, organisation: organisation, db: db, logger: logger)
            } catch let refusal as IDTokens.Refusal {
                logger.info("ID token refused", metadata: ["why": .string(refusal.rawValue)])
            } catch let error as ProviderDocuments.ExchangeFailed {
                logger.info("the identity provider did not exchange its code", metadata: ["status": .string("\(error.status)")])
            }
        }
        try await db.transaction(organisation: organisation) { connection in
            try await DeviceSignIns.settle(found.id, worker: worker, organisation: organisation, on: connection, logger: logger)
        }
        let told: FamilyPageRefusal = worker == nil ? .deviceSignInRefused : .deviceSignedIn
        var response = html(told.status, "notice", told.view(workersWords), workersWords)
        response.headers[.setCookie] = cookie(Self.stateCookie, "", path: "/sign-in/\(name)/callback", sameSite: "Lax", maxAge: 0)
        return response
    }

    /// Where the provider sends the person back: registered with the provider as the application's redirect URI.
    func callback(_ name: String) -> String {
        base.appendingPathComponent("sign-in").appendingPathComponent(name).appendingPathComponent("callback").absoluteString
    }

    private func cookie(_ name: String, _ value: String, path: String, sameSite: String, maxAge: Int) -> String {
        "\(name)=\(value); Path=\(path); Max-Age=\(maxAge); HttpOnly; SameSite=\(sameSite)" + (base.scheme == "https" ? "; Secure" : "")
    }
}

extension FamilyPageRefusal {
    static let noSuchSignIn = FamilyPageRefusal(status: .notFound, key: "no-such-sign-in")
    static let deviceFormForged = FamilyPageRefusal(status: .forbidden, key: "device-form-forged")
    static let deviceSignInLapsed = FamilyPageRefusal(status: .gone, key: "device-sign-in-lapsed")
    static let deviceSignInRefused = FamilyPageRefusal(status: .forbidden, key: "device-sign-in-refused")
    static let deviceSignedIn = FamilyPageRefusal(status: .ok, key: "device-signed-in")
}
