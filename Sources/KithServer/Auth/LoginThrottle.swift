import Foundation

/// Slows down repeated failed sign-ins for one account or one address.
///
/// After `allowedFailures` failures within `window`, further attempts for that key answer 429 until the oldest
/// failure in the window has aged out. Kept in memory: a restart forgives, which is acceptable for slowing
/// guessing down; a bcrypt cost of 12 already makes each guess expensive.
actor LoginThrottle {
    private var failures: [String: [ContinuousClock.Instant]] = [:]
    private let allowedFailures: Int
    private let window: Duration
    private let maxKeys = 100_000

    init(allowedFailures: Int = 5, window: Duration = .seconds(15 * 60)) {
        self.allowedFailures = allowedFailures
        self.window = window
    }

    /// Seconds to wait before another attempt for any of these keys, or nil if an attempt may go ahead.
    func retryAfter(keys: [String], now: ContinuousClock.Instant = .now) -> Int? {
        var wait: Duration = .zero
        for key in keys {
            let recent = (failures[key] ?? []).filter { now - $0 < window }
            failures[key] = recent.isEmpty ? nil : recent
            if recent.count >= allowedFailures, let oldest = recent.first {
                wait = max(wait, window - (now - oldest))
            }
        }
        return wait > .zero ? max(1, Int(wait.components.seconds)) : nil
    }

    func recordFailure(keys: [String], now: ContinuousClock.Instant = .now) {
        if failures.count > maxKeys { failures.removeAll(keepingCapacity: true) }
        for key in keys { failures[key, default: []].append(now) }
    }

    func recordSuccess(keys: [String]) {
        for key in keys { failures[key] = nil }
    }
}
