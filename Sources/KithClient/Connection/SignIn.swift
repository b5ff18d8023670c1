import AsyncHTTPClient
import Crypto
import Foundation
import KithAPI
import KithCore
import NIOCore

/// Signing a profile in and out: the server's address as a person types it, the password exchanged for a device
/// registration, and the rules that keep unsent work safe when a profile changes hands.
package enum SignIn {
    /// `kith.example.org` means https, `localhost:8080` and loopback addresses http; a trailing slash is dropped.
    package static func serverURL(_ text: String) throws -> URL {
        var text = text
        if !text.contains("://") {
            let local = text.hasPrefix("localhost") || text.hasPrefix("127.") || text.hasPrefix("[::1]")
            text = (local ? "http://" : "https://") + text
        }
        while text.hasSuffix("/") { text.removeLast() }
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw CommandError.usage("'\(text)' is not a server address (e.g. https://kith.example.org)")
        }
        return url
    }

    /// Signs in with the password and registers a device: the device's token syncs, and the sign-in's own token (which
    /// expires within the day) does the work that needs the server now. Signing that sign-in out revokes the device.
    package static func register(
        _ url: URL, email: String, password: String, deviceName: String?, hostName: String = ProcessInfo.processInfo.hostName
    ) async throws -> Session {
        try await register(url, deviceName: deviceName, hostName: hostName) {
            try await Server.with(url, token: nil) { client in
                switch try await client.login(body: .json(.init(email: email, password: password))) {
                case .ok(let ok): return try ok.body.json
                case .clientError(let status, let problem):
                    if status == 401 { throw CommandError.usage("wrong email or password") }
                    if status == 429 { throw CommandError.usage("too many attempts: wait a minute, then try again") }
                    throw Server.refusal(status, problem)
                case .serviceUnavailable(let unavailable): throw Server.refusal(unavailable)
                case .undocumented(let status, _): throw Server.undocumented(status)
                }
            }
        }
    }

    /// Signs in through the organisation's identity provider by the device grant the server hosts: `show` is given the
    /// address and code for the person to open in any browser, and this device waits, polling as often as the server
    /// allows, until they have signed in there (or it is refused, or the codes lapse). Then registers a device as a
    /// password sign-in does.
    package static func registerThroughBrowser(
        _ url: URL, organisation: String, deviceName: String?, hostName: String = ProcessInfo.processInfo.hostName,
        show: (Components.Schemas.DeviceAuthorization) -> Void
    ) async throws -> Session {
        try await register(url, deviceName: deviceName, hostName: hostName) {
            let codes = try await Server.with(url, token: nil) { client in
                try await client.startDeviceSignIn(body: .json(.init(organisation: organisation))).ok.body.json
            }
            show(codes)
            var interval = max(codes.interval, 1)
            let lapses = Date().addingTimeInterval(TimeInterval(codes.expiresIn))
            while Date() < lapses {
                try await Task.sleep(for: .seconds(interval))
                do {
                    return try await Server.with(url, token: nil) { client in
                        try await client.finishDeviceSignIn(body: .json(.init(deviceCode: codes.deviceCode))).ok.body.json
                    }
                } catch CommandError.refused(400, let code, _) where code == "authorization_pending" {
                } catch CommandError.refused(400, let code, _) where code == "slow_down" {
                    interval += 5
                } catch CommandError.refused(400, let code, _) where code == "access_denied" {
                    throw CommandError.usage("the sign-in was refused: your organisation's sign-in did not name a current worker of Kith")
                } catch CommandError.refused(400, let code, _) where code == "expired_token" {
                    break
                }
            }
            throw CommandError.usage("nobody signed in in time: run `kith login` again")
        }
    }

    /// Signs in through the organisation's identity provider as a native app does (RFC 8252): `open` is given the
    /// provider's address to show the person in a browser (PKCE S256, a state and a nonce, and a redirect to a socket on
    /// 127.0.0.1 for the answer); the code is exchanged at the provider as a public client, the ID token's nonce checked
    /// here and the token given to Kith (`POST /v1/auth/oidc`), which checks it whole. Then registers a device.
    package static func registerThroughProvider(
        _ url: URL, organisation: String, deviceName: String?, port: Int?, hostName: String = ProcessInfo.processInfo.hostName,
        open: (URL) -> Void
    ) async throws -> Session {
        try await register(url, deviceName: deviceName, hostName: hostName) {
            let provider = try await Server.with(url, token: nil) { client in
                try await client.getSignInProvider(path: .init(organisation: organisation)).ok.body.json
            }
            let redirect = try LoopbackRedirect(port: port)
            let verifier = Data((0..<32).map { _ in UInt8.random(in: .min ... .max) }).base64URL
            let state = Data((0..<16).map { _ in UInt8.random(in: .min ... .max) }).base64URL
            let nonce = Data((0..<16).map { _ in UInt8.random(in: .min ... .max) }).base64URL
            var address = URLComponents(string: provider.authorizationEndpoint)
            let given = address?.queryItems ?? []
            address?.queryItems = given + [
                .init(name: "client_id", value: provider.clientId), .init(name: "response_type", value: "code"),
                .init(name: "redirect_uri", value: redirect.redirectURI), .init(name: "scope", value: "openid"),
                .init(name: "state", value: state), .init(name: "nonce", value: nonce),
                .init(name: "code_challenge", value: Data(SHA256.hash(data: Data(verifier.utf8))).base64URL),
                .init(name: "code_challenge_method", value: "S256"),
            ]
            guard let authorize = address?.url else { throw CommandError.usage("the organisation's sign-in address is not one") }
            open(authorize)
            let answer = try await redirect.answer(within: .seconds(300))
            guard answer["state"] == state else { throw CommandError.usage("the sign-in's answer was not for this sign-in: run `kith login` again") }
            guard let code = answer["code"] else {
                throw CommandError.usage("the organisation's sign-in refused: \(answer["error_description"] ?? answer["error"] ?? "no reason given")")
            }
            let idToken = try await exchange(code, provider: provider, redirect: redirect.redirectURI, verifier: verifier)
            guard idTokenNonce(idToken) == nonce else { throw CommandError.usage("the sign-in's answer was not for this sign-in: run `kith login` again") }
            return try await Server.with(url, token: nil) { client in
                try await client.loginWithIdToken(body: .json(.init(organisation: organisation, idToken: idToken))).ok.body.json
            }
        }
    }

    /// The ID token for the code, from the provider's token endpoint, as a public client (PKCE, no secret).
    private static func exchange(
        _ code: String, provider: Components.Schemas.SignInProvider, redirect: String, verifier: String
    ) async throws -> String {
        var form = URLComponents()
        form.queryItems = [
            .init(name: "grant_type", value: "authorization_code"), .init(name: "code", value: code),
            .init(name: "redirect_uri", value: redirect), .init(name: "client_id", value: provider.clientId),
            .init(name: "code_verifier", value: verifier),
        ]
        var request = HTTPClientRequest(url: provider.tokenEndpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        // A form's `+` is a space: the percent-encoded query leaves it as it is.
        request.body = .bytes(ByteBuffer(string: form.percentEncodedQuery!.replacingOccurrences(of: "+", with: "%2B")))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        struct Tokens: Decodable { let id_token: String }
        guard response.status == .ok, let tokens = try? JSONDecoder().decode(Tokens.self, from: Data(body.readableBytesView)) else {
            throw CommandError.usage("the organisation's sign-in did not give a token (\(response.status.code)); ask your administrator")
        }
        return tokens.id_token
    }

    /// The nonce an ID token carries (its signature is the server's to check).
    private static func idTokenNonce(_ token: String) -> String? {
        let parts = token.split(separator: ".")
        guard parts.count == 3, let payload = Data(base64URL: parts[1]) else { return nil }
        struct Claims: Decodable { let nonce: String? }
        return (try? JSONDecoder().decode(Claims.self, from: payload))?.nonce
    }

    /// A device registered for the session `signIn` opens (its own token syncs; the sign-in's works with the server now).
    private static func register(
        _ url: URL, deviceName: String?, hostName: String, signIn: () async throws -> Components.Schemas.LoginResponse
    ) async throws -> Session {
        do {
            let login = try await signIn()
            return try await Server.with(url, token: login.token) { client in
                let me = try await client.getMe().ok.body.json
                let registration = try await client.registerDevice(body: .json(.init(
                    name: deviceName ?? "kith on \(hostName)", platform: "terminal", clientVersion: KithVersion.client))).created.body.json
                return Session(
                    server: url, deviceId: registration.deviceId, token: registration.token, signInToken: login.token, me: me)
            }
        } catch {
            if Server.isUnreachable(error) { throw CommandError.unreachable(url, waiting: nil) }
            throw error
        }
    }

    /// Makes `session` the profile's. Work waiting to be sent by another worker or for another server is never
    /// handed to this one: the new registration is revoked again and the person told what to do. The registration
    /// replaced is revoked (best effort), and the local copy starts over for the new device, keeping unsent work.
    package static func adopt(_ session: Session, in store: LocalStore, profile: String) async throws {
        if let previous = try store.session(), previous.server != session.server || previous.workerId != session.workerId,
           try !store.waiting().isEmpty
        {
            await revoke(session)
            throw CommandError.usage("""
                profile '\(profile)' holds work of \(previous.me.worker.name) on \(previous.server.absoluteString) not yet synced; \
                sign in with another profile (`kith --profile NAME login …`), or sync it first
                """)
        }
        if let previous = try store.session() { await revoke(previous) }
        try store.startOverForNewDevice()
        try store.setSession(session)
    }

    /// The registration is revoked, so no forgotten token stays valid (best effort: a token the server no longer
    /// honours is revoked already).
    package static func revoke(_ session: Session) async {
        _ = try? await signOut(session)
    }

    /// The device signs itself out (its token's sign-out revokes it), then the sign-in that registered it.
    private static func signOut(_ session: Session) async throws {
        try await Server.with(session.server, token: session.token, patience: 5) { client in
            _ = try await client.logout().noContent
        }
        if let signIn = session.signInToken {
            _ = try? await Server.with(session.server, token: signIn, patience: 2) { try await $0.logout() }
        }
    }

    /// Signing out: the device token revoked on the server and forgotten here. A token the server no longer honours
    /// counts as revoked; another refusal or no answer is returned, for the person to hear (the token is forgotten
    /// here all the same).
    package static func signOut(_ session: Session, store: LocalStore) async throws -> CommandError? {
        var trouble: CommandError?
        do {
            try await signOut(session)
        } catch CommandError.refused(let status, _, _) where status == 401 || status == 403 {
        } catch let error as CommandError {
            trouble = error
        } catch {
            trouble = Server.isUnreachable(error) ? .unreachable(session.server, waiting: nil) : .usage("\(error)")
        }
        try store.setSession(nil)
        return trouble
    }
}
