import Foundation
import Synchronization

/// How often a device may push or pull, and a worker across all their devices: a bucket each, filled at `perMinute`
/// a minute up to `perMinute` at once, so that a first sync's pages and a burst of pushes go through and a client in a
/// loop is told to wait (429 with `Retry-After`). Kept in the server's memory: with several replicas each has its own,
/// which only makes the limit more generous.
final class SyncRate: Sendable {
    /// A device's allowance a minute (`KITH_SYNC_REQUESTS_PER_MINUTE`); a worker's is twice it.
    let perMinute: Int

    private struct Bucket {
        var tokens: Double
        var at: ContinuousClock.Instant
    }

    private let buckets = Mutex<[UUID: Bucket]>([:])

    init(perMinute: Int) { self.perMinute = perMinute }

    /// Takes one request from the device's bucket and the worker's, or says how long to wait and takes nothing.
    func admit(_ device: SyncDevice, now: ContinuousClock.Instant = .now) throws {
        let wait = buckets.withLock { buckets -> Double? in
            if buckets.count > 100_000 { Self.forgetFull(&buckets, now: now) }
            let limits = [(device.id, Double(perMinute)), (device.workerId, Double(perMinute * 2))]
            var filled: [(UUID, Bucket)] = []
            for (key, capacity) in limits {
                var bucket = buckets[key] ?? Bucket(tokens: capacity, at: now)
                bucket.tokens = min(capacity, bucket.tokens + Self.seconds(bucket.at, now) * capacity / 60)
                bucket.at = now
                guard bucket.tokens >= 1 else { return (1 - bucket.tokens) * 60 / capacity }
                filled.append((key, bucket))
            }
            for (key, var bucket) in filled {
                bucket.tokens -= 1
                buckets[key] = bucket
            }
            return nil
        }
        if let wait {
            throw KithError.tooManyRequests(
                retryAfter: max(1, Int(wait.rounded(.up))), "This device, or its worker, has synced very often; wait, then sync again.")
        }
    }

    private static func seconds(_ from: ContinuousClock.Instant, _ to: ContinuousClock.Instant) -> Double {
        let elapsed = from.duration(to: to).components
        return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    }

    /// Buckets idle long enough to be full again hold nothing worth keeping.
    private static func forgetFull(_ buckets: inout [UUID: Bucket], now: ContinuousClock.Instant) {
        buckets = buckets.filter { seconds($0.value.at, now) < 60 }
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
