import ArgumentParser
import Foundation
import KithAPI
import KithClient

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign in to a Kith server and register this machine as one of your devices.",
        discussion: """
            Asks for your email and password (the password is not shown as you type; from a pipe it is read as a line).
            Only the device token is kept, in the profile's folder, readable by you alone. Signing in again on the same
            profile keeps anything not yet synced and sends it with the new registration.
            """)

    @OptionGroup var common: Common
    @Argument(help: "The server, e.g. https://kith.example.org or localhost:8080.") var server: String
    @Option(help: "Your email (asked for when not given).") var email: String?
    @Option(help: "What to call this device on the server.") var deviceName: String?

    func run() async throws {
        try await reporting {
            let url = try Self.serverURL(server)
            guard let email = email ?? Terminal.ask("Email: "), !email.isEmpty else { throw CommandError.usage("an email is needed to sign in") }
            guard let password = Terminal.askSecret("Password: "), !password.isEmpty else { throw CommandError.usage("a password is needed to sign in") }

            let profile = try common.profileFolder()
            let store = try profile.open()
            let (me, registration) = try await Self.register(url, email: email, password: password, deviceName: deviceName)
            let session = Session(server: url, deviceId: registration.deviceId, token: registration.token, me: me)
            if let previous = try store.session(), previous.server != url || previous.workerId != me.worker.id, try !store.waiting().isEmpty {
                await Self.revoke(session)
                throw CommandError.usage("""
                    profile '\(profile.name)' holds work of \(previous.me.worker.name) on \(previous.server.absoluteString) not yet synced; \
                    sign in with another profile (`kith --profile NAME login …`), or sync it first
                    """)
            }
            if let previous = try store.session() { await Self.revoke(previous) }
            try store.startOverForNewDevice()
            try store.setSession(session)
            let workspace = try Workspace(profile: profile, store: store, session: session)
            Terminal.note("Signed in as \(me.worker.name) (\(me.organisation.name)); this machine is device \(Caseload.shortId(registration.deviceId)).")
            do {
                try await workspace.sync()
                let families = try workspace.caseload.families().count
                Terminal.note("\(families == 1 ? "1 family" : "\(families) families") on this machine. Try `kith families`.")
            } catch let error as CommandError {
                Terminal.error(error.description)
            }
        }
    }

    /// The registration this one replaces is revoked, so no forgotten token stays valid (best effort: a token the
    /// server no longer honours is revoked already).
    static func revoke(_ session: Session) async {
        _ = try? await Server.with(session.server, token: session.token, patience: 2) { client in
            try await client.revokeDevice(path: .init(deviceId: session.deviceId))
        }
    }

    static func serverURL(_ text: String) throws -> URL {
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

    /// Signs in with the password, registers a device, and ends the password's session: from here on this machine
    /// uses the device token only.
    static func register(
        _ url: URL, email: String, password: String, deviceName: String?
    ) async throws -> (Components.Schemas.Me, Components.Schemas.DeviceRegistration) {
        do {
            let login = try await Server.with(url, token: nil) { client in
                switch try await client.login(body: .json(.init(email: email, password: password))) {
                case .ok(let ok): return try ok.body.json
                case .default(let status, let problem):
                    if status == 401 { throw CommandError.usage("wrong email or password") }
                    if status == 429 { throw CommandError.usage("too many attempts: wait a minute, then try again") }
                    throw Server.refusal(status, problem)
                }
            }
            return try await Server.with(url, token: login.token) { client in
                let me: Components.Schemas.Me = switch try await client.getMe() {
                case .ok(let ok): try ok.body.json
                case .default(let status, let problem): throw Server.refusal(status, problem)
                }
                let host = ProcessInfo.processInfo.hostName
                let registration: Components.Schemas.DeviceRegistration = switch try await client.registerDevice(body: .json(.init(
                    name: deviceName ?? "kith on \(host)", platform: "terminal", clientVersion: KithVersion.client))) {
                case .created(let created): try created.body.json
                case .default(let status, let problem): throw Server.refusal(status, problem)
                }
                _ = try? await client.logout()
                return (me, registration)
            }
        } catch {
            if Server.isUnreachable(error) { throw CommandError.unreachable(url, waiting: nil) }
            throw error
        }
    }
}

struct Logout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign this machine out: revoke its device token on the server and forget it here.",
        discussion: """
            Work not yet synced is sent first when the server answers; if it cannot be, it stays here and is sent after
            the next `kith login`. With --forget the local copy of your caseload goes too, but only when nothing is
            waiting to be sent (or with --force, after listing what would be lost).
            """)

    @OptionGroup var common: Common
    @Flag(help: "Also delete this profile's local database.") var forget = false
    @Flag(help: "With --forget: delete it even though changes are waiting to be sent.") var force = false

    func run() async throws {
        try await reporting {
            let profile = try common.profileFolder()
            guard profile.exists else { throw CommandError.notSignedIn(profile: profile.name) }
            let store = try profile.open()
            let session = try store.session()
            let workspace = try session.map { try Workspace(profile: profile, store: store, session: $0) }
            if let workspace, try !store.waiting().isEmpty { _ = try? await workspace.sync() }
            if forget, !force, let waiting = try store.waitingDescription() {
                throw CommandError.usage("\(waiting) not yet sent to the server; run `kith sync` when online, or `kith logout --forget --force` to lose them")
            }
            if let workspace, let session {
                do {
                    try await workspace.online { client in
                        switch try await client.revokeDevice(path: .init(deviceId: session.deviceId)) {
                        case .ok: break
                        case .default(let status, let problem): throw Server.refusal(status, problem)
                        }
                    }
                } catch CommandError.refused(let status, _, _) where status == 401 || status == 403 {
                    // A token the server no longer honours is as good as revoked.
                } catch let error as CommandError {
                    Terminal.error("could not revoke this device on the server (\(error)); a supervisor can revoke device \(session.deviceId)")
                }
                try store.setSession(nil)
                Terminal.note("Signed out of \(session.server.absoluteString).")
            } else if !forget {
                Terminal.note("Not signed in on profile '\(profile.name)'.")
            }
            if forget {
                let waiting = try store.waiting()
                if !waiting.isEmpty {
                    Terminal.note("Deleting \(waiting.count) unsent change\(waiting.count == 1 ? "" : "s"):")
                    for item in waiting { Terminal.note("  \(item.recordedAt)  \(LocalStore.word(for: item.type))") }
                }
                try profile.forget()
                Terminal.note("Deleted \(profile.directory.path).")
            } else if let waiting = try store.waitingDescription() {
                Terminal.note("\(waiting) stay on this machine and will be sent after you sign in again.")
            }
        }
    }
}

struct WhoAmI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "whoami", abstract: "Who this profile is signed in as, where.")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing

    struct Output: Encodable {
        let profile: String, folder: String, server: String, deviceId: String
        let worker: Components.Schemas.Worker, organisation: String, teams: [String]
    }

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let me = workspace.session.me
            let output = Output(
                profile: workspace.profile.name, folder: workspace.profile.directory.path, server: workspace.session.server.absoluteString,
                deviceId: workspace.session.deviceId, worker: me.worker, organisation: me.organisation.name, teams: me.teams.map(\.name))
            if listing.json { return try Terminal.json(output) }
            Terminal.print("""
                \(Terminal.style.bold(me.worker.name)) <\(me.worker.email)> — \(me.worker.roles.map(\.rawValue).joined(separator: ", "))
                organisation: \(me.organisation.name)\(me.teams.isEmpty ? "" : "; team\(me.teams.count == 1 ? "" : "s"): \(output.teams.joined(separator: ", "))")
                server:       \(output.server)
                device:       \(output.deviceId)
                profile:      \(output.profile) (\(output.folder))
                """)
        }
    }
}
