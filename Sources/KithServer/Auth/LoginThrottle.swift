import Foundation

/// Slows down repeated failed sign-ins for one account or from one address.
///
/// An account that failed 5 times within 15 minutes, or an address that failed 30 times (higher, because many people
/// can share one address behind a proxy), answers 429 until the oldest failure in the window has aged out. Kept in
/// memory: a restart forgives, which is acceptable for slowing guessing down, and bcrypt at cost 12 already makes each
/// guess expensive.
actor LoginThrottle {
    struct Key: Hashable {
        let name: String
        let allowedFailures: Int

        static func account(_ email: String) -> Key { Key(name: "account:\(email)", allowedFailures: 5) }
        static func address(_ address: String?) -> Key { Key(name: "address:\(address ?? "unknown")", allowedFailures: 30) }
    }

    private var failures: [Key: [ContinuousClock.Instant]] = [:]
    private let window: Duration
    private let maxKeys = 100_000

    init(window: Duration = .seconds(15 * 60)) {
        self.window = window
    }

    /// Seconds to wait before another attempt for any of these keys, or nil if an attempt may go ahead.
    func retryAfter(_ keys: [Key], now: ContinuousClock.Instant = .now) -> Int? {
        var wait: Duration = .zero
        for key in keys {
            let recent = (failures[key] ?? []).filter { now - $0 < window }
            failures[key] = recent.isEmpty ? nil : recent
            if recent.count >= key.allowedFailures, let oldest = recent.first {
                wait = max(wait, window - (now - oldest))
            }
        }
        return wait > .zero ? max(1, Int(wait.components.seconds)) : nil
    }

    func recordFailure(_ keys: [Key], now: ContinuousClock.Instant = .now) {
        if failures.count > maxKeys { failures.removeAll(keepingCapacity: true) }
        for key in keys { failures[key, default: []].append(now) }
    }

    func recordSuccess(_ key: Key) {
        failures[key] = nil
    }
}
