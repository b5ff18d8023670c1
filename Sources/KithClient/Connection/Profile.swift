import Foundation
import KithAPI

/// Where one profile keeps its device token and its local database: `$XDG_DATA_HOME/kith/PROFILE`
/// (`~/.local/share/kith/PROFILE`), a folder only its owner can open, files only its owner can read.
/// Profiles let one person use more than one server or worker from the same account.
package struct Profile: Sendable {
    package let name: String
    package let directory: URL

    package init(name: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard name.range(of: "^[A-Za-z0-9_-]{1,64}$", options: .regularExpression) != nil else {
            throw CommandError.usage("a profile name is letters, digits, '-' or '_' (at most 64), not '\(name)'")
        }
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        let data = environment["XDG_DATA_HOME"].flatMap { $0.hasPrefix("/") ? URL(fileURLWithPath: $0) : nil }
            ?? home.appendingPathComponent(".local/share")
        self.name = name
        directory = data.appendingPathComponent("kith").appendingPathComponent(name)
    }

    var databasePath: String { directory.appendingPathComponent("kith.sqlite").path }

    package var exists: Bool { FileManager.default.fileExists(atPath: databasePath) }

    /// The profile's store, created on first use with owner-only permissions (the umask is tightened for SQLite's
    /// journal files too).
    package func open() throws -> LocalStore {
        umask(0o077)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path)
        let store = try LocalStore(path: databasePath)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: databasePath)
        return store
    }

    /// The signed-in profile's store, session and caseload; not signed in is said as such.
    package func signedIn() throws -> Workspace {
        guard exists else { throw CommandError.notSignedIn(profile: name) }
        let store = try open()
        guard let session = try store.session() else { throw CommandError.notSignedIn(profile: name) }
        return try Workspace(profile: self, store: store, session: session)
    }

    /// Removes the token and the local database.
    package func forget() throws {
        try FileManager.default.removeItem(at: directory)
    }
}

/// A signed-in profile at work: its store, who it is signed in as, and the caseload the device holds.
package struct Workspace: Sendable {
    package let profile: Profile
    package let store: LocalStore
    package let session: Session
    package let caseload: Caseload

    package init(profile: Profile, store: LocalStore, session: Session) throws {
        self.profile = profile
        self.store = store
        self.session = session
        caseload = try .init(store: store, workerId: session.workerId)
    }

    package var practice: Practice { Practice(caseload: caseload) }
}

/// Who this profile is signed in as, and with which device registration.
package struct Session: Codable, Sendable {
    package let server: URL
    package let deviceId: String
    /// The device's token: it reaches the device's sync and nothing else.
    package let token: String
    /// The worker's own sign-in, for the work that needs the server now (`Office`); it lasts hours, not weeks, and
    /// `kith login` renews it.
    package let signInToken: String?
    package let me: Components.Schemas.Me

    package init(server: URL, deviceId: String, token: String, signInToken: String?, me: Components.Schemas.Me) {
        self.server = server
        self.deviceId = deviceId
        self.token = token
        self.signInToken = signInToken
        self.me = me
    }

    package var workerId: String { me.worker.id }
}

extension LocalStore {
    package func session() throws -> Session? {
        try setting("session").map { try Self.decoder.decode(Session.self, from: Data($0.utf8)) }
    }

    package func workerNames() throws -> [String: String] {
        try setting("workers").map { try Self.decoder.decode([String: String].self, from: Data($0.utf8)) } ?? [:]
    }

    package func setWorkerNames(_ names: [String: String]) throws {
        try set("workers", try Self.json(names))
    }

    package func setSession(_ session: Session?) throws {
        try set("session", try session.map { try Self.json($0) })
    }
}
