import Foundation
import KithAPI
import KithClient

extension Workspace {
    /// One sync with a progress line. An unreachable server or a refusal becomes a sentence for the person.
    @discardableResult
    func sync(patience: Int64 = 10) async throws -> SyncEngine.Summary {
        let spinner = Spinner("syncing with \(session.server.host ?? session.server.absoluteString)…")
        do {
            let summary = try await sync(patience: patience) { progress in
                spinner.update("syncing… \(progress.pushed) sent, \(progress.changes) received")
            }
            await spinner.stop()
            return summary
        } catch {
            await spinner.stop()
            throw error
        }
    }

    /// After a write: sent at once when the server answers; otherwise kept here, and the person is told so.
    func sendIfOnline(_ saved: String) async throws {
        if Workspace.holdsWrites {
            Terminal.note("\(saved) — saved locally (KITH_OFFLINE is set); \(try store.waitingDescription() ?? "nothing") waiting for `kith sync`")
            return
        }
        do {
            let summary = try await sync(patience: 2)
            let rejected = summary.rejected > 0 ? Terminal.errorStyle.yellow(" — the server kept \(summary.rejected) for review: see `kith review`") : ""
            Terminal.note("\(saved) and synced\(rejected)")
        } catch let error as CommandError {
            Terminal.note("\(saved) on this machine.")
            Terminal.refused(error)
        }
    }
}
