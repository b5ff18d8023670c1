import Hummingbird
import NIOCore

/// The router's request context: Hummingbird's core storage plus the peer address, which login throttling uses.
public struct KithRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: String?
    /// The client's connection, to know whether it is still there (`RequestWatch.clientIsGone`).
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress?.ipAddress
        self.channel = source.channel
    }
}
