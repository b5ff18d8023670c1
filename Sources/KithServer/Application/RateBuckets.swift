import Foundation
import Synchronization

/// Allowances by key (a device, a worker): a bucket each, filled at `perMinute` a minute up to `perMinute` at once, so
/// that a burst goes through and a client in a loop is told to wait. Kept in the server's memory: with several replicas
/// each has its own, which only makes a limit more generous.
final class RateBuckets: Sendable {
    private struct Bucket {
        var tokens: Double
        var at: ContinuousClock.Instant
    }

    private let buckets = Mutex<[UUID: Bucket]>([:])

    /// Takes one from every key's bucket, or none when one is empty: then the whole seconds to wait.
    func take(_ limits: [(key: UUID, perMinute: Int)], now: ContinuousClock.Instant = .now) -> Int? {
        let wait = buckets.withLock { buckets -> Double? in
            if buckets.count > 100_000 { Self.forgetFull(&buckets, now: now) }
            var filled: [(UUID, Bucket)] = []
            for (key, perMinute) in limits {
                let capacity = Double(perMinute)
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
        return wait.map { max(1, Int($0.rounded(.up))) }
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
