import Foundation
import KithAPI
import OpenAPIRuntime

/// The client side of sync (`docs/sync.md`): push before pull, every unconfirmed mutation until the server's
/// `lastAppliedSeq` covers it, then every page of the feed applied with its cursor, then purges acknowledged. Whenever
/// the server's `lastAppliedSeq` falls below what it had confirmed (it lost pushes in a failover or a restore), the
/// mutations after it are pushed again.
package struct SyncEngine: Sendable {
    let client: Client
    let store: LocalStore
    let deviceId: String

    package init(client: Client, store: LocalStore, deviceId: String) {
        self.client = client
        self.store = store
        self.deviceId = deviceId
    }

    package struct Summary: Sendable, Equatable {
        package var pushed = 0
        package var rejected = 0
        package var changes = 0
        package var purged = 0
    }

    /// `progress` hears the running totals after every request.
    @discardableResult
    package func sync(progress: @Sendable (Summary) -> Void = { _ in }) async throws -> Summary {
        var summary = Summary()
        try await push(into: &summary, progress: progress)
        var lastAppliedSeq: Int64
        do {
            lastAppliedSeq = try await pull(into: &summary, progress: progress)
        } catch CommandError.refused(_, let code?, _) where code == "reset_required" || code == "cursor_expired" {
            try store.restartFeed()
            lastAppliedSeq = try await pull(into: &summary, progress: progress)
        }
        // The push had nothing to send, so only the pull could tell that the server lost what it had confirmed.
        if try store.reopen(after: lastAppliedSeq) > 0 {
            try await push(into: &summary, progress: progress)
        }
        try store.set("lastSyncAt", Date().formatted(.iso8601))
        return summary
    }

    private func push(into summary: inout Summary, progress: @Sendable (Summary) -> Void) async throws {
        while true {
            let batch = try store.unconfirmed()
            guard !batch.isEmpty else { return }
            let output = try await client.syncPush(body: .json(.init(
                _protocol: SyncProtocolVersion.current, deviceId: deviceId, clientVersion: KithVersion.client, mutations: batch)))
            let response: Components.Schemas.PushResponse
            switch output {
            case .ok(let ok): response = try ok.body.json
            case .clientError(let status, let problem): throw Server.refusal(status, problem)
            case .serviceUnavailable(let unavailable): throw Server.refusal(unavailable)
            case .undocumented(let status, _): throw Server.undocumented(status)
            }
            try store.rejected(response.results.filter { $0.status == .rejected }.map(\.id))
            try store.confirm(through: response.lastAppliedSeq)
            if try store.reopen(after: response.lastAppliedSeq) > 0 { continue }
            summary.pushed += response.results.count { $0.status != .seqConflict }
            summary.rejected += response.results.count { $0.status == .rejected }
            progress(summary)
            // A gap means the server is missing an earlier number: nothing more can be confirmed this time.
            if response.results.count < batch.count { return }
        }
    }

    /// Returns the server's `lastAppliedSeq` as the last page gave it.
    private func pull(into summary: inout Summary, progress: @Sendable (Summary) -> Void) async throws -> Int64 {
        var hasMore = true
        var lastAppliedSeq: Int64 = 0
        while hasMore {
            let output = try await client.syncPull(body: .json(.init(
                _protocol: SyncProtocolVersion.current, deviceId: deviceId, cursor: try store.setting("cursor"), limit: 1000)))
            let page: Components.Schemas.PullResponse
            switch output {
            case .ok(let ok): page = try ok.body.json
            case .clientError(let status, let problem): throw Server.refusal(status, problem)
            case .serviceUnavailable(let unavailable): throw Server.refusal(unavailable)
            case .undocumented(let status, _): throw Server.undocumented(status)
            }
            try store.apply(page)
            lastAppliedSeq = page.lastAppliedSeq
            summary.changes += page.changes.count
            progress(summary)
            hasMore = page.hasMore
        }
        let purged = try store.purgesToAcknowledge()
        guard !purged.isEmpty else { return lastAppliedSeq }
        let output = try await client.syncAck(body: .json(.init(purged: purged.map { .init(familyId: $0.familyId, grantId: $0.grantId) })))
        switch output {
        case .noContent: break
        case .clientError(let status, let problem): throw Server.refusal(status, problem)
        case .serviceUnavailable(let unavailable): throw Server.refusal(unavailable)
        case .undocumented(let status, _): throw Server.undocumented(status)
        }
        try store.acknowledged(purged.map(\.grantId))
        summary.purged += purged.count
        return lastAppliedSeq
    }
}

package enum KithVersion {
    package static let client = "kith-terminal 0.1.0"
}
