import Foundation

/// The one way a test waits for what comes in its own time: the change feed, a lock taken by another connection, a
/// process. `check` is asked until it returns a value; after `bound` the test fails, saying what it waited for.
///
/// The default bound suits the change feed: a commit reaches a pull only once every older transaction in the cluster
/// has ended, and the tests share one cluster, where a test's transaction may run for as long as its statement timeout
/// allows a lock to be held (`TestDatabase.servingConfig`, 30 s).
func waitUntil<Value>(
    _ what: String, within bound: Duration = Waiting.feed, every pause: Duration = .milliseconds(50),
    _ check: () async throws -> Value?
) async throws -> Value {
    let start = ContinuousClock.now
    while true {
        if let value = try await check() { return value }
        guard ContinuousClock.now - start < bound else { throw Waiting.NeverHappened(what: what, bound: bound) }
        try await Task.sleep(for: pause)
    }
}

/// `waitUntil` for a condition.
func waitUntil(
    _ what: String, within bound: Duration = Waiting.feed, every pause: Duration = .milliseconds(50), _ check: () async throws -> Bool
) async throws {
    _ = try await waitUntil(what, within: bound, every: pause) { try await check() ? true : nil }
}

enum Waiting {
    static let feed = Duration.seconds(90)

    struct NeverHappened: Error, CustomStringConvertible {
        let what: String
        let bound: Duration
        var description: String { "waited \(bound) for \(what); it never happened" }
    }
}
