import Logging

/// Wraps the log handler every logger of the server writes to: Kith's own records pass at the configured level (they
/// carry ids and codes, never personal data), while the libraries' records (PostgresNIO, Hummingbird, NIO, …) pass only
/// at `info` and above. Below that, those libraries write what crosses the wire: PostgresNIO's trace-level records
/// carry whole database messages, rows of names and a family's words among them, in hex.
public struct PrivateLogHandler: LogHandler {
    private var wrapped: any LogHandler
    /// The modules whose records pass at the configured level.
    static let ownSources: Set<String> = ["KithServer", "kith_server", "KithCore"]

    public init(_ wrapped: any LogHandler) { self.wrapped = wrapped }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        guard event.level >= .info || Self.ownSources.contains(event.source) else { return }
        wrapped.log(event: event)
    }
}
