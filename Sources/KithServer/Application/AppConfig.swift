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
    /// Peers whose `X-Forwarded-For` is believed (`KITH_TRUSTED_PROXIES`); none by default.
    var trustedProxies: [AddressBlock] = []
    /// Connections in the pool (`KITH_DB_POOL_SIZE`).
    public var databasePoolSize = 20
    /// Connections opened at start and kept open (`KITH_DB_POOL_MIN`, from the environment all of the pool unless
    /// set; built in code, as the tests do with many servers at once, none until needed).
    public var databasePoolMinimum = 0
    /// Whether the hot statements are prepared once per connection (`KITH_DB_PREPARED_STATEMENTS`, `on` by default;
    /// `off` behind a pooler that cannot keep named statements, such as PgBouncer before 1.21 in transaction mode).
    public var databasePreparedStatements = true
    /// Limits on every server transaction (`KITH_STATEMENT_TIMEOUT`, `KITH_IDLE_IN_TRANSACTION_TIMEOUT`, in seconds):
    /// a stuck statement or an abandoned transaction cannot hold back the sync feed or a pool's connection for long.
    public var timeouts = Timeouts()
    /// Where people reach this server (`KITH_PUBLIC_URL`, e.g. `https://kith.example.org`): invitation links to the
    /// family's page are made from it, and its page cookie is `Secure` when it is `https`. Unset: `http://HOST:PORT`.
    public var publicURL: URL?
    /// How long `serve` lets requests in flight finish after SIGTERM or SIGINT (`KITH_DRAIN_TIMEOUT`); what is still
    /// running then is cancelled.
    public var drainTimeout: Duration = .seconds(30)
    /// How long a connection may send nothing (`KITH_HTTP_IDLE_TIMEOUT`): no request, a request's head not finished, or
    /// its body stalled. The server then closes it.
    public var httpIdleTimeout: Duration = .seconds(60)
    /// How long a request may take to arrive whole, head and body, from its first byte (`KITH_HTTP_READ_TIMEOUT`): a
    /// client sending a byte now and then is never idle, and is closed at this.
    public var httpReadTimeout: Duration = .seconds(60)
    /// How many pushes and pulls a device may make a minute, in a burst or spread out (`KITH_SYNC_REQUESTS_PER_MINUTE`);
    /// a worker, across their devices, twice as many. A client syncing a caseload needs a few; one in a loop is told to
    /// wait (429).
    public var syncRequestsPerMinute = 120
    /// How many pulls may deliver families whole at once (`KITH_SYNC_FIRST_SYNCS`); others are told to retry (503).
    public var wholeFamilyPulls = 4
    /// How many searches a worker may make a minute, of notes and of families together, in a burst or spread out
    /// (`KITH_SEARCHES_PER_MINUTE`): a person searching needs a few; a script walking the record is told to wait (429).
    public var searchesPerMinute = 60
    /// Serve even as a database role that can leave the wall (`KITH_UNSAFE_DATABASE_ROLE=1`): development only.
    public var unsafeDatabaseRole = false
    /// Identity providers an administrator may name on `http://` (`KITH_OIDC_HTTP_ISSUERS=loopback`): those on this
    /// machine, for development and the tests. Otherwise only `https://`, so that no setting makes the server fetch
    /// from its own network in clear.
    public var httpIssuersOnLoopback = false

    /// The base of links handed to families.
    var publicBase: URL { publicURL ?? URL(string: "http://\(host.contains(":") ? "[\(host)]" : host):\(port)")! }

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

    /// Reads `DATABASE_URL`, `KITH_HOST`, `KITH_PORT`, `KITH_LOG_LEVEL`, `KITH_TRUSTED_PROXIES`, `KITH_DB_POOL_SIZE`,
    /// the timeouts (`KITH_DB_ACQUIRE_TIMEOUT`, `KITH_STATEMENT_TIMEOUT`, `KITH_LOCK_TIMEOUT`,
    /// `KITH_IDLE_IN_TRANSACTION_TIMEOUT`, `KITH_DRAIN_TIMEOUT`, `KITH_HTTP_IDLE_TIMEOUT`, `KITH_HTTP_READ_TIMEOUT`), the sync limits
    /// (`KITH_SYNC_REQUESTS_PER_MINUTE`, `KITH_SYNC_FIRST_SYNCS`, `KITH_SEARCHES_PER_MINUTE`), `KITH_PUBLIC_URL`, `KITH_UNSAFE_DATABASE_ROLE`,
    /// `KITH_OIDC_HTTP_ISSUERS`, listing
    /// every missing or bad key at once.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> AppConfig {
        var problems: [String] = []
        let url = env["DATABASE_URL"] ?? ""
        if url.isEmpty { problems.append("DATABASE_URL is not set (postgres://user@host:port/database)") }
        else if let problem = DatabaseURL.problem(url) { problems.append(problem) }
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
        if let list = env["KITH_TRUSTED_PROXIES"], !list.trimmingWhitespace().isEmpty {
            for entry in list.split(separator: ",").map(String.init) {
                if let block = AddressBlock(entry) { config.trustedProxies.append(block) }
                else { problems.append("KITH_TRUSTED_PROXIES: '\(entry.trimmingWhitespace())' is not an address or CIDR block") }
            }
        }
        if let size = env["KITH_DB_POOL_SIZE"], !size.isEmpty {
            if let value = Int(size), (1...1000).contains(value) { config.databasePoolSize = value }
            else { problems.append("KITH_DB_POOL_SIZE must be a number of connections from 1 to 1000, got '\(size)'") }
        }
        config.databasePoolMinimum = config.databasePoolSize
        if let minimum = env["KITH_DB_POOL_MIN"], !minimum.isEmpty {
            if let value = Int(minimum), (0...config.databasePoolSize).contains(value) { config.databasePoolMinimum = value }
            else { problems.append("KITH_DB_POOL_MIN must be a number of connections from 0 to KITH_DB_POOL_SIZE, got '\(minimum)'") }
        }
        if let prepared = env["KITH_DB_PREPARED_STATEMENTS"], !prepared.isEmpty {
            switch prepared.lowercased() {
            case "on": config.databasePreparedStatements = true
            case "off": config.databasePreparedStatements = false
            default: problems.append("KITH_DB_PREPARED_STATEMENTS must be on or off, got '\(prepared)'")
            }
        }
        let limits: [(String, WritableKeyPath<AppConfig, Duration>)] = [
            ("KITH_STATEMENT_TIMEOUT", \.timeouts.statement), ("KITH_IDLE_IN_TRANSACTION_TIMEOUT", \.timeouts.idleInTransaction),
            ("KITH_DB_ACQUIRE_TIMEOUT", \.timeouts.acquire), ("KITH_LOCK_TIMEOUT", \.timeouts.lock),
            ("KITH_DRAIN_TIMEOUT", \.drainTimeout), ("KITH_HTTP_IDLE_TIMEOUT", \.httpIdleTimeout),
            ("KITH_HTTP_READ_TIMEOUT", \.httpReadTimeout),
        ]
        for (key, path) in limits {
            guard let text = env[key], !text.isEmpty else { continue }
            if let seconds = Int(text), (1...3600).contains(seconds) { config[keyPath: path] = .seconds(seconds) }
            else { problems.append("\(key) must be a number of seconds from 1 to 3600, got '\(text)'") }
        }
        if let text = env["KITH_SYNC_REQUESTS_PER_MINUTE"], !text.isEmpty {
            if let value = Int(text), (1...100_000).contains(value) { config.syncRequestsPerMinute = value }
            else { problems.append("KITH_SYNC_REQUESTS_PER_MINUTE must be a number from 1 to 100000, got '\(text)'") }
        }
        if let text = env["KITH_SEARCHES_PER_MINUTE"], !text.isEmpty {
            if let value = Int(text), (1...100_000).contains(value) { config.searchesPerMinute = value }
            else { problems.append("KITH_SEARCHES_PER_MINUTE must be a number from 1 to 100000, got '\(text)'") }
        }
        if let text = env["KITH_SYNC_FIRST_SYNCS"], !text.isEmpty {
            if let value = Int(text), (1...1000).contains(value) { config.wholeFamilyPulls = value }
            else { problems.append("KITH_SYNC_FIRST_SYNCS must be a number from 1 to 1000, got '\(text)'") }
        }
        if let text = env["KITH_PUBLIC_URL"], !text.isEmpty {
            if let url = URL(string: text.hasSuffix("/") ? String(text.dropLast()) : text), ["http", "https"].contains(url.scheme),
               url.host?.isEmpty == false, url.query == nil {
                config.publicURL = url
            } else {
                problems.append("KITH_PUBLIC_URL must be an http:// or https:// address without a query, got '\(text)'")
            }
        }
        if let unsafe = env["KITH_UNSAFE_DATABASE_ROLE"], !unsafe.isEmpty {
            if ["0", "1"].contains(unsafe) { config.unsafeDatabaseRole = unsafe == "1" }
            else { problems.append("KITH_UNSAFE_DATABASE_ROLE must be 1 or 0, got '\(unsafe)'") }
        }
        if let http = env["KITH_OIDC_HTTP_ISSUERS"], !http.isEmpty {
            if ["loopback", "none"].contains(http) { config.httpIssuersOnLoopback = http == "loopback" }
            else { problems.append("KITH_OIDC_HTTP_ISSUERS must be loopback or none, got '\(http)'") }
        }
        guard problems.isEmpty else { throw Invalid(problems: problems) }
        return config
    }
}

/// How long the server waits on its database: for a connection, for one statement, for a lock, and how long PostgreSQL
/// lets one of its transactions sit idle. Each ends with 503 and `Retry-After`, having changed nothing.
public struct Timeouts: Sendable, Equatable {
    /// `KITH_DB_ACQUIRE_TIMEOUT`: waiting for a connection (the pool busy, or the database unreachable).
    public var acquire: Duration = .seconds(5)
    /// `KITH_STATEMENT_TIMEOUT`.
    public var statement: Duration = .seconds(30)
    /// `KITH_LOCK_TIMEOUT`: a lock held elsewhere (a migration, an operator's psql) costs a request this, not the pool.
    public var lock: Duration = .seconds(5)
    /// `KITH_IDLE_IN_TRANSACTION_TIMEOUT`.
    public var idleInTransaction: Duration = .seconds(60)

    public init() {}

    /// How long a request may hold a connection: two statements' time and ten seconds more. Only a database that stopped
    /// answering without closing its connections gets there (`ConnectionLease`), since each statement is bounded.
    var hold: Duration { statement * 2 + .seconds(10) }

    var milliseconds: (statement: Int64, idle: Int64) {
        (statement.milliseconds, idleInTransaction.milliseconds)
    }

    /// The serving connections' own settings, sent when each connection starts: they bound every statement, the ones
    /// that run on their own too (a note's `POST`, a timeline page), where a transaction's `SET LOCAL` cannot reach.
    var sessionSettings: [(String, String)] {
        [("statement_timeout", "\(statement.milliseconds)"), ("lock_timeout", "\(lock.milliseconds)"),
         ("idle_in_transaction_session_timeout", "\(idleInTransaction.milliseconds)")]
    }
}

extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

/// The parts of a `postgres://user:password@host:port/database?sslmode=…` URL.
struct DatabaseURL: Sendable {
    var user: String
    var password: String?
    var host: String
    var port: Int
    var database: String
    var sslMode: SSLMode

    /// libpq's names; `allow` and `verify-ca` are not offered (the first protects nothing, the second checks no name).
    enum SSLMode: String, Sendable {
        case disable, prefer, require, verifyFull = "verify-full"
    }

    static func problem(_ string: String) -> String? {
        guard DatabaseURL(string) == nil else { return nil }
        if let mode = URLComponents(string: string)?.queryItems?.first(where: { $0.name == "sslmode" })?.value,
           SSLMode(rawValue: mode) == nil {
            return "DATABASE_URL's sslmode must be disable, prefer, require or verify-full, got '\(mode)'"
        }
        return "DATABASE_URL is not a postgres:// URL"
    }

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
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? SSLMode.prefer.rawValue
        guard let sslMode = SSLMode(rawValue: mode) else { return nil }
        self.sslMode = sslMode
    }
}
