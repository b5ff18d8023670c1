import Foundation
import Synchronization

/// How often a device may push or pull, and a worker across all their devices (`RateBuckets`), so that a first sync's
/// pages and a burst of pushes go through and a client in a loop is told to wait (429 with `Retry-After`).
final class SyncRate: Sendable {
    /// A device's allowance a minute (`KITH_SYNC_REQUESTS_PER_MINUTE`); a worker's is twice it.
    let perMinute: Int
    private let buckets = RateBuckets()

    init(perMinute: Int) { self.perMinute = perMinute }

    /// Takes one request from the device's bucket and the worker's, or says how long to wait and takes nothing.
    func admit(_ device: SyncDevice, now: ContinuousClock.Instant = .now) throws {
        if let wait = buckets.take([(device.id, perMinute), (device.workerId, perMinute * 2)], now: now) {
            throw KithError.tooManyRequests(
                retryAfter: wait, "This device, or its worker, has synced very often; wait, then sync again.")
        }
    }
}

/// How many pulls may deliver families whole at once (`KITH_SYNC_FIRST_SYNCS`): a first sync reads and sends a
/// caseload's whole record, and two hundred tablets doing it together after a bank holiday would take every connection
/// and all the memory. The rest are told to come back (503 `busy` with `Retry-After`); pulls of the feed alone are not
/// counted.
final class WholeFamilyPulls: Sendable {
    let capacity: Int
    private let running = Mutex(0)

    init(capacity: Int) { self.capacity = capacity }

    /// `body`, if there is room for one more; else 503 without running it.
    func admit<Result>(_ body: () async throws -> sending Result) async throws -> sending Result {
        let admitted = running.withLock { running in
            guard running < capacity else { return false }
            running += 1
            return true
        }
        guard admitted else {
            throw KithError(
                status: .serviceUnavailable, code: "busy",
                detail: "Many devices are syncing whole caseloads just now; this one's turn comes shortly. Try again.",
                retryAfterSeconds: 5)
        }
        defer { running.withLock { $0 -= 1 } }
        return try await body()
    }
}
