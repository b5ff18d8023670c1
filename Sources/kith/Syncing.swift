import Foundation
import KithAPI
import KithClient

extension Workspace {
    /// One sync with a progress line. An unreachable server or a refusal becomes a sentence for the person.
    @discardableResult
    func sync(patience: Int64 = 10) async throws -> SyncEngine.Summary {
        let spinner = Spinner("syncing with \(session.server.host ?? session.server.absoluteString)…")
        do {
            let summary = try await Server.with(session.server, token: session.token, patience: patience) { client in
                try await SyncEngine(client: client, store: store, deviceId: session.deviceId).sync { progress in
                    spinner.update("syncing… \(progress.pushed) sent, \(progress.changes) received")
                }
            }
            // Colleagues' names, for timelines read offline, while the worker's own sign-in lasts (a device's token
            // reaches only its sync).
            if let signIn = session.signInToken {
                try await Server.with(session.server, token: signIn, patience: patience) { client in
                    if case .ok(let ok) = try await client.listWorkers(), case .json(let page) = ok.body {
                        try store.setWorkerNames(Dictionary(page.items.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first }))
                    }
                }
            }
            await spinner.stop()
            return summary
        } catch {
            await spinner.stop()
            throw try explain(error)
        }
    }

    /// What went wrong talking to the server, for the person: unreachable (their work is safe here) or refused.
    func explain(_ error: any Error) throws -> any Error {
        if Server.isUnreachable(error) { return CommandError.unreachable(session.server, waiting: try store.waitingDescription()) }
        return error
    }

    /// After a write: sent at once when the server answers; otherwise kept here, and the person is told so.
    func sendIfOnline(_ saved: String) async throws {
        if ProcessInfo.processInfo.environment["KITH_OFFLINE"].map({ !$0.isEmpty && $0 != "0" }) == true {
            Terminal.note("\(saved) — saved locally (KITH_OFFLINE is set); \(try store.waitingDescription() ?? "nothing") waiting for `kith sync`")
            return
        }
        do {
            let summary = try await sync(patience: 2)
            let rejected = summary.rejected > 0 ? Terminal.errorStyle.yellow(" — the server kept \(summary.rejected) for review: see `kith review`") : ""
            Terminal.note("\(saved) and synced\(rejected)")
        } catch let error as CommandError {
            Terminal.note("\(saved) on this machine.")
            Terminal.error(error.description)
        }
    }
}
