import ArgumentParser
import Foundation
import KithAPI
import KithClient

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign in to a Kith server and register this machine as one of your devices.",
        discussion: """
            Asks for your email and password (the password is not shown as you type; from a pipe it is read as a line).
            With --sso, signs in through your organisation's own sign-in instead, in this machine's browser ($BROWSER, or
            xdg-open), which comes back to a port on 127.0.0.1. With --device, the same from any browser, on your phone
            say: it prints an address and a code (and a QR code) and waits until you have signed in there.
            Only the device token is kept, in the profile's folder, readable by you alone. Signing in again on the same
            profile keeps anything not yet synced and sends it with the new registration.
            """)

    @OptionGroup var common: Common
    @Argument(help: "The server, e.g. https://kith.example.org or localhost:8080.") var server: String
    @Option(help: "Your email (asked for when not given).") var email: String?
    @Option(help: ArgumentHelp("Sign in through your organisation's sign-in, in a browser anywhere.", valueName: "organisation"))
    var device: String?
    @Option(help: ArgumentHelp("Sign in through your organisation's sign-in, in this machine's browser.", valueName: "organisation"))
    var sso: String?
    @Option(help: "With --sso: the port on 127.0.0.1 the browser comes back to (any free one unless given).") var port: Int?
    @Option(help: "What to call this device on the server.") var deviceName: String?
    @Flag(help: "With --device: no QR code.") var noQR = false

    func run() async throws {
        try await reporting {
            let url = try SignIn.serverURL(server)
            let profile = try common.profileFolder()
            let store = try profile.open()
            let session: Session
            if let organisation = sso {
                session = try await SignIn.registerThroughProvider(url, organisation: organisation, deviceName: deviceName, port: port) { address in
                    Terminal.print("Sign in through your organisation in the browser (if it does not open, open this address):")
                    Terminal.print("  \(address.absoluteString)")
                    Terminal.openBrowser(address)
                    Terminal.print(Terminal.style.dim("Waiting for you to sign in there (Ctrl-C to stop)..."))
                }
            } else if let organisation = device {
                session = try await SignIn.registerThroughBrowser(url, organisation: organisation, deviceName: deviceName) { codes in
                    Terminal.print("To sign in, open this address in a browser (on your phone, say):")
                    Terminal.print("  \(codes.verificationUri)")
                    Terminal.print("and check that it shows this code: " + Terminal.style.bold(codes.userCode))
                    if !noQR { Terminal.qrCode(codes.verificationUriComplete) }
                    Terminal.print(Terminal.style.dim("Waiting for you to sign in there (Ctrl-C to stop)..."))
                }
            } else {
                guard let email = email ?? Terminal.ask("Email: "), !email.isEmpty else { throw CommandError.usage("an email is needed to sign in") }
                guard let password = Terminal.askSecret("Password: "), !password.isEmpty else { throw CommandError.usage("a password is needed to sign in") }
                session = try await SignIn.register(url, email: email, password: password, deviceName: deviceName)
            }
            try await SignIn.adopt(session, in: store, profile: profile.name)
            let workspace = try Workspace(profile: profile, store: store, session: session)
            Terminal.note("Signed in as \(session.me.worker.name) (\(session.me.organisation.name)); this machine is device \(Caseload.shortId(session.deviceId)).")
            do {
                try await workspace.sync()
                let families = try workspace.caseload.families().count
                Terminal.note("\(families == 1 ? "1 family" : "\(families) families") on this machine. Try `kith families`.")
            } catch let error as CommandError {
                Terminal.error(error.description)
            }
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
            if let session {
                if let trouble = try await SignIn.signOut(session, store: store) {
                    Terminal.error("could not revoke this device on the server (\(trouble)); a supervisor can revoke device \(session.deviceId)")
                }
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
