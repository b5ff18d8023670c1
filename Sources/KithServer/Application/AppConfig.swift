import Foundation
import Logging

/// Everything the server reads from its environment, validated once at start.
public struct AppConfig: Sendable {
    public var databaseURL: String
    public var host: String
    public var port: Int
    public var logLevel: Logger.Level
    /// How long a login token lives.
    public var sessionLifetime: Duration
    /// How long break-glass access stays open.
    public var breakGlassLifetime: Duration
    public var maxRequestBodyBytes: Int

    public init(
        databaseURL: String,
        host: String = "127.0.0.1",
        port: Int = 8080,
        logLevel: Logger.Level = .info,
        sessionLifetime: Duration = .seconds(12 * 3600),
        breakGlassLifetime: Duration = .seconds(4 * 3600),
        maxRequestBodyBytes: Int = 1 << 20
    ) {
        self.databaseURL = databaseURL
        self.host = host
        self.port = port
        self.logLevel = logLevel
        self.sessionLifetime = sessionLifetime
        self.breakGlassLifetime = breakGlassLifetime
        self.maxRequestBodyBytes = maxRequestBodyBytes
    }

    public struct Invalid: Error, CustomStringConvertible {
        public var problems: [String]
        public var description: String { "invalid configuration:\n  " + problems.joined(separator: "\n  ") }
    }

    /// Reads `DATABASE_URL`, `KITH_HOST`, `KITH_PORT`, `KITH_LOG_LEVEL`, listing every missing or bad key at once.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> AppConfig {
        var problems: [String] = []
        let url = env["DATABASE_URL"] ?? ""
        if url.isEmpty { problems.append("DATABASE_URL is not set (postgres://user@host:port/database)") }
        else if DatabaseURL(url) == nil { problems.append("DATABASE_URL is not a postgres:// URL") }
        var config = AppConfig(databaseURL: url)
        if let host = env["KITH_HOST"], !host.isEmpty { config.host = host }
        if let port = env["KITH_PORT"], !port.isEmpty {
            if let value = Int(port), (1...65535).contains(value) { config.port = value }
            else { problems.append("KITH_PORT must be a port number, got '\(port)'") }
        }
        if let level = env["KITH_LOG_LEVEL"], !level.isEmpty {
            if let value = Logger.Level(rawValue: level.lowercased()) { config.logLevel = value }
            else { problems.append("KITH_LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical") }
        }
        guard problems.isEmpty else { throw Invalid(problems: problems) }
        return config
    }
}

/// The parts of a `postgres://user:password@host:port/database` URL.
struct DatabaseURL: Sendable {
    var user: String
    var password: String?
    var host: String
    var port: Int
    var database: String

    init?(_ string: String) {
        guard let components = URLComponents(string: string),
              components.scheme == "postgres" || components.scheme == "postgresql",
              let host = components.host, !host.isEmpty
        else { return nil }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { return nil }
        self.user = components.user ?? "postgres"
        self.password = components.password
        self.host = host
        self.port = components.port ?? 5432
        self.database = database
    }
}
