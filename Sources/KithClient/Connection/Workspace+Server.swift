import Foundation
import KithAPI

/// How a signed-in profile reaches its server: the device's token for its sync, the worker's own sign-in for the work
/// that needs the server now (`Office`), and the person's wish to keep writes on the machine until they sync.
extension Workspace {
    /// Writes wait for `kith sync` instead of being sent at once: `KITH_OFFLINE` is set (on a train, say).
    package static var holdsWrites: Bool {
        ProcessInfo.processInfo.environment["KITH_OFFLINE"].map { !$0.isEmpty && $0 != "0" } == true
    }

    /// One sync of this device's outbox and caseload, then colleagues' names for timelines read offline, while the
    /// worker's own sign-in lasts (a device's token reaches only its sync).
    package func sync(patience: Int64, progress: @Sendable (SyncEngine.Summary) -> Void) async throws -> SyncEngine.Summary {
        do {
            let summary = try await Server.with(session.server, token: session.token, patience: patience) { client in
                try await SyncEngine(client: client, store: store, deviceId: session.deviceId).sync(progress: progress)
            }
            if let signIn = session.signInToken {
                let workers = try await Server.with(session.server, token: signIn, patience: patience) { client in
                    try await Office(client: client, session: session).workers()
                }
                try store.setWorkerNames(Dictionary(workers.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first }))
            }
            return summary
        } catch {
            throw try explain(error)
        }
    }

    /// Work that needs the server now (no offline copy of it exists), with the worker's own sign-in.
    package func office<T>(_ body: (Office) async throws -> T) async throws -> T {
        guard let signIn = session.signInToken else {
            throw CommandError.usage("this needs your sign-in, not only this device's: run `kith login` again")
        }
        do {
            return try await Server.with(session.server, token: signIn) { client in try await body(Office(client: client, session: session)) }
        } catch {
            throw try explain(error)
        }
    }

    /// What went wrong talking to the server, for the person: unreachable (their work is safe here) or refused.
    package func explain(_ error: any Error) throws -> any Error {
        if Server.isUnreachable(error) { return CommandError.unreachable(session.server, waiting: try store.waitingDescription()) }
        return error
    }
}
