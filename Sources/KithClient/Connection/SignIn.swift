import Foundation
import KithAPI

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
