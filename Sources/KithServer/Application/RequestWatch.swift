import Hummingbird
import NIOCore
import Metrics
import Synchronization

/// Every request is served by a task of its own while the connection's task waits for its answer, so that a request
/// stranded on a lost database connection (`LostConnections`) can still be answered: 503 and `Retry-After`, and the
/// stranded task is left where it stopped. Cancelling the wait (the drain's end) cancels the request's task.
struct WatchedResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == KithRequestContext {
    typealias Context = Inner.Context
    let inner: Inner

    func respond(to request: Request, context: Context) async throws -> Response {
        let watch = RequestWatch(channel: context.channel)
        let serving = Mutex<Task<Void, Never>?>(nil)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (answer: CheckedContinuation<Response, any Error>) in
                watch.onAnswer(answer)
                let task = Task {
                    let result = await Result {
                        try await RequestWatch.$current.withValue(watch) { try await inner.respond(to: request, context: context) }
                    }
                    watch.answer(with: result)
                }
                serving.withLock { $0 = task }
                // Cancelled before the task was known to the handler below.
                if Task.isCancelled { task.cancel() }
            }
        } onCancel: {
            serving.withLock { $0 }?.cancel()
        }
    }
}

/// The request a task serves, answered once: by its handler, or without it when its database connection was lost
/// under it (`abandon`).
final class RequestWatch: Sendable {
    @TaskLocal static var current: RequestWatch?

    private let channel: any Channel
    private let waiting = Mutex<CheckedContinuation<Response, any Error>?>(nil)

    /// Whether the connection was open when the request came (one made by a test's router framework never is).
    private let cameOpen: Bool

    fileprivate init(channel: any Channel) {
        self.channel = channel
        self.cameOpen = channel.isActive
    }

    /// Whether the client closed its connection, or its side of it: work for it can stop.
    var clientIsGone: Bool { cameOpen && (!channel.isActive || ClientPresence.hasStoppedSending(channel)) }

    fileprivate func onAnswer(_ answer: CheckedContinuation<Response, any Error>) {
        waiting.withLock { $0 = answer }
    }

    fileprivate func answer(with result: Result<Response, any Error>) {
        waiting.withLock { $0.take() }?.resume(with: result)
    }

    /// The request's database connection was lost and its handler did not end by itself.
    func abandon() {
        Counter(label: "kith_requests_stranded").increment()
        answer(with: .success(KithError.databaseUnavailable.response()))
    }
}

extension Result where Failure == any Error {
    init(_ body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}

/// Notes a client that closed its side of the connection. Hummingbird allows half-closed connections, so a channel stays
/// active after a client's FIN until the server writes or closes; for Kith a client that stops sending while its
/// request is served has hung up (no Kith client half-closes and waits for an answer).
final class ClientPresence: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Any

    private static let stopped = Mutex<Set<ObjectIdentifier>>([])

    static func hasStoppedSending(_ channel: any Channel) -> Bool {
        stopped.withLock { $0.contains(ObjectIdentifier(channel)) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed? = event as? ChannelEvent {
            _ = Self.stopped.withLock { $0.insert(ObjectIdentifier(context.channel)) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        _ = Self.stopped.withLock { $0.remove(ObjectIdentifier(context.channel)) }
        context.fireChannelInactive()
    }
}
