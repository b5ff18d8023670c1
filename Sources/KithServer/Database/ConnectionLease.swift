import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// A connection leased from the pool by a task of its own and lent to the task that asked for it, so that the wait can
/// end at a deadline: PostgresNIO queues a lease until a connection is free or, with its database gone, until its own
/// circuit breaker trips a minute later, and it offers no deadline of its own. The lender's lease request is cancelled
/// when the asker gives up, which takes it out of the pool's queue. Deadlines are kept by `LeaseDeadlines`.
final class ConnectionLease: Sendable {
    private struct State {
        var connection: PostgresConnection?
        var failure: (any Error)?
        var asker: CheckedContinuation<PostgresConnection, any Error>?
        var lender: CheckedContinuation<Void, Never>?
        var released = false
    }

    private let state = Mutex(State())

    /// `body` with a connection of `client`'s, or `DatabaseUnavailable.noConnection` when none is lent within `wait`.
    /// A connection still held after `hold` is closed under its borrower: a database that stopped answering without
    /// closing its connections (a frozen host, a network partition) cannot run out the statement timeout it set, and
    /// nothing else would end the wait. Its borrower hears that the connection was lost (and a stranded one is answered
    /// by `LostConnections`).
    static func with<Result>(
        _ client: PostgresClient, waitingAtMost wait: Duration, holdingAtMost hold: Duration? = nil,
        isolation: isolated (any Actor)? = #isolation, _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        let lease = ConnectionLease()
        let deadline = LeaseDeadlines.shared.add(at: .now + wait) { lease.fail(DatabaseUnavailable.noConnection) }
        defer { LeaseDeadlines.shared.remove(deadline) }
        let lender = Task {
            do {
                try await client.withConnection { connection in await lease.lend(connection) }
            } catch {
                // Whatever stopped the lease (the pool's circuit breaker, its shutdown), the asker hears one thing.
                lease.fail(DatabaseUnavailable.noConnection)
            }
        }
        let connection: PostgresConnection
        do {
            connection = try await lease.connection()
        } catch {
            lender.cancel()
            throw error
        }
        LeaseDeadlines.shared.remove(deadline)
        LostConnections.watch(connection, lease: lease, request: RequestWatch.current)
        let overdue = hold.map { hold in LeaseDeadlines.shared.add(at: .now + hold) { let _: EventLoopFuture<Void> = connection.close() } }
        defer {
            if let overdue { LeaseDeadlines.shared.remove(overdue) }
            LostConnections.unwatch(connection)
            lease.release()
        }
        return try await body(connection)
    }

    /// The asker's side: the connection once lent, or the reason there is none.
    private func connection() async throws -> PostgresConnection {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (asker: CheckedContinuation<PostgresConnection, any Error>) in
                let ready: Swift.Result<PostgresConnection, any Error>? = state.withLock { state in
                    if let connection = state.connection { return .success(connection) }
                    if let failure = state.failure { return .failure(failure) }
                    state.asker = asker
                    return nil
                }
                if let ready { asker.resume(with: ready) }
            }
        } onCancel: {
            fail(CancellationError())
        }
    }

    /// The lender's side: hands `connection` over and holds the lease until the asker releases it, or returns at once
    /// when the asker has given up.
    private func lend(_ connection: PostgresConnection) async {
        let asker: CheckedContinuation<PostgresConnection, any Error>?? = state.withLock { state in
            guard state.failure == nil, !state.released else { return .none }
            state.connection = connection
            defer { state.asker = nil }
            return .some(state.asker)
        }
        guard case .some(let waiting) = asker else { return }
        waiting?.resume(returning: connection)
        await withCheckedContinuation { (lender: CheckedContinuation<Void, Never>) in
            let released = state.withLock { state in
                if !state.released { state.lender = lender }
                return state.released
            }
            if released { lender.resume() }
        }
    }

    /// The deadline passed, the asker was cancelled, or the lease failed: unless a connection was lent already.
    fileprivate func fail(_ error: any Error) {
        let asker = state.withLock { state -> CheckedContinuation<PostgresConnection, any Error>? in
            guard state.connection == nil, state.failure == nil else { return nil }
            state.failure = error
            defer { state.asker = nil }
            return state.asker
        }
        asker?.resume(throwing: error)
    }

    fileprivate func release() {
        let lender = state.withLock { state in
            state.released = true
            defer { state.lender = nil }
            return state.lender
        }
        lender?.resume()
    }
}

/// The deadlines of leases (for a connection, and for holding one), looked at ten times a second by one repeated timer:
/// a timer a lease would cost two wake-ups of an event loop on every request (nearly every lease gets its connection at
/// once and gives it back in time), and a `Task.sleep` cancelled that often leaks on this Swift for Linux. A deadline
/// is kept within a tenth of a second.
final class LeaseDeadlines: Sendable {
    static let shared = LeaseDeadlines()

    private let waiting = Mutex<(next: UInt64, due: [UInt64: (at: ContinuousClock.Instant, then: @Sendable () -> Void)])>((0, [:]))

    private init() {
        MultiThreadedEventLoopGroup.singleton.any().scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) {
            [self] _ in expire(now: .now)
        }
    }

    /// Runs `then` at `deadline` unless removed before.
    func add(at deadline: ContinuousClock.Instant, _ then: @escaping @Sendable () -> Void) -> UInt64 {
        waiting.withLock { waiting in
            waiting.next += 1
            waiting.due[waiting.next] = (deadline, then)
            return waiting.next
        }
    }

    func remove(_ key: UInt64) {
        _ = waiting.withLock { $0.due.removeValue(forKey: key) }
    }

    private func expire(now: ContinuousClock.Instant) {
        let expired = waiting.withLock { waiting in
            let due = waiting.due.filter { $0.value.at <= now }
            for key in due.keys { waiting.due[key] = nil }
            return due.values.map(\.then)
        }
        for then in expired { then() }
    }
}

/// The database cannot be reached, or not in time: the request changed nothing and may be tried again. Answered 503
/// with `Retry-After` (`ProblemMiddleware`).
enum DatabaseUnavailable: Error {
    /// No connection was free, or none could be made, within `KITH_DB_ACQUIRE_TIMEOUT`.
    case noConnection
}

/// The connections lent now, watched for being lost under their borrower. PostgresNIO fails a query in flight when its
/// connection closes, but a query sent after that (the next statement of a transaction, when the database crashed
/// between two) is written to a channel with nobody left to answer it, and waits for ever. A borrower still holding a
/// lost connection a moment later is taken to be stranded so: its request is answered 503 without it
/// (`RequestWatch`), and the lease goes back, so that the pool makes a new connection in its place.
enum LostConnections {
    private struct Watched {
        var lease: ConnectionLease
        var request: RequestWatch?
    }

    /// By the connection object: PostgresNIO numbers connections per pool, and a process may have several (the tests').
    private static let lent = Mutex<(now: [ObjectIdentifier: Watched], known: Set<ObjectIdentifier>)>(([:], []))

    /// How long a borrower has to end by itself once its connection is lost.
    static let grace = TimeAmount.seconds(1)

    static func watch(_ connection: PostgresConnection, lease: ConnectionLease, request: RequestWatch?) {
        let id = ObjectIdentifier(connection)
        let first = lent.withLock { lent in
            lent.now[id] = Watched(lease: lease, request: request)
            return lent.known.insert(id).inserted
        }
        // Once a connection: a callback a lease would pile up on a connection that lives for days.
        guard first else { return }
        connection.closeFuture.whenComplete { _ in
            let watched = lent.withLock { lent in
                lent.known.remove(id)
                return lent.now[id]
            }
            guard let watched else { return }
            connection.closeFuture.eventLoop.scheduleTask(in: grace) {
                let stranded = lent.withLock { lent in
                    guard let still = lent.now[id], still.lease === watched.lease else { return false }
                    lent.now[id] = nil
                    return true
                }
                guard stranded else { return }
                watched.lease.release()
                watched.request?.abandon()
            }
        }
    }

    static func unwatch(_ connection: PostgresConnection) {
        lent.withLock { _ = $0.now.removeValue(forKey: ObjectIdentifier(connection)) }
    }
}
