import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// Hummingbird's HTTP/1 connections with Kith's limits on what a client may do with one: `ClientPresence` notes a client
/// that hung up, and a request must arrive whole within `KITH_HTTP_READ_TIMEOUT` of its first byte
/// (`RequestArrival`). The idle timeout alone would let a client trickle a head or a body a byte at a time for ever.
struct KithHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    private let http: HTTP1Channel
    private let readTimeout: TimeAmount

    init(responder: @escaping HTTPChannelHandler.Responder, idleTimeout: Duration, readTimeout: Duration) {
        http = HTTP1Channel(
            responder: responder,
            configuration: .init(additionalChannelHandlers: [ClientPresence(), RequestArrival.End()], idleTimeout: TimeAmount(idleTimeout)))
        self.readTimeout = TimeAmount(readTimeout)
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        // In front of the HTTP decoder, which says nothing of a request until its head is whole.
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(RequestArrival(timeout: readTimeout), position: .first)
        }.flatMap { http.setup(channel: channel, logger: logger) }
    }

    func handle(value: Value, logger: Logger) async {
        await http.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    static func kith(idleTimeout: Duration, readTimeout: Duration) -> HTTPServerBuilder {
        .init { KithHTTP1Channel(responder: $0, idleTimeout: idleTimeout, readTimeout: readTimeout) }
    }
}

/// Closes a connection whose request has not arrived whole (head and body) within the read timeout of its first byte.
/// It sits before the HTTP decoder, where bytes arrive; `End`, after it, tells it when a request's end was decoded.
final class RequestArrival: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Any

    private let timeout: TimeAmount
    /// When the first byte of the request still arriving came.
    private var started: NIODeadline?
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if started == nil { started = .now() }
        context.fireChannelRead(data)
    }

    /// A timer only for a request still unfinished when the socket has nothing more to read just now: one that arrives
    /// in a single read (most of them) is decoded to its end before this, and costs none.
    func channelReadComplete(context: ChannelHandlerContext) {
        if let started, deadline == nil {
            let channel = context.channel
            deadline = context.eventLoop.scheduleTask(deadline: started + timeout) { channel.close(promise: nil) }
        }
        context.fireChannelReadComplete()
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is Arrived else { return context.triggerUserOutboundEvent(event, promise: promise) }
        forget()
        promise?.succeed()
    }

    func channelInactive(context: ChannelHandlerContext) {
        forget()
        context.fireChannelInactive()
    }

    private func forget() {
        started = nil
        deadline?.cancel()
        deadline = nil
    }

    /// Sent towards the front of the pipeline when a request's end was decoded.
    struct Arrived {}

    /// Sees each decoded request's end and says so to `RequestArrival`.
    final class End: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .end = unwrapInboundIn(data) {
                context.triggerUserOutboundEvent(Arrived(), promise: nil)
            }
            context.fireChannelRead(data)
        }
    }
}
