import Foundation
import Hummingbird
import KithAPI
import Logging
import NIOSSL
import OpenAPIHummingbird
import OpenAPIRuntime
import PostgresNIO
import Prometheus

/// Builds the whole server: database pool, routes, middleware. `kith-server serve` runs it; tests drive the
/// same application through HummingbirdTesting.
public func buildApplication(
    _ config: AppConfig, logger: Logger, metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
) throws -> some ApplicationProtocol {
    let db = try PostgresClient.kith(config, serving: true, logger: logger)
    let cursorKey = ListCursorKey()
    let router = try buildRouter(config, db: db, cursorKey: cursorKey, logger: logger, metrics: metrics)
    var app = Application(
        responder: WatchedResponder(inner: router.buildResponder()),
        server: .kith(idleTimeout: config.httpIdleTimeout, readTimeout: config.httpReadTimeout),
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "kith"),
        logger: logger)
    app.beforeServerStarts {
        try await ServingRole.check(db, allowingUnsafe: config.unsafeDatabaseRole, logger: logger)
        try await cursorKey.load(from: Database(client: db, logger: logger))
    }
    app.addServices(db, Housekeeping(db: Database(client: db, logger: logger, timeouts: config.timeouts), logger: logger))
    return app
}

func buildRouter(
    _ config: AppConfig, db client: PostgresClient, cursorKey: ListCursorKey, logger: Logger, metrics: PrometheusCollectorRegistry
) throws -> Router<KithRequestContext> {
    let db = Database(client: client, logger: logger, timeouts: config.timeouts)
    let router = Router(context: KithRequestContext.self)
    let contract = ContractMethods()
    let document = try APIDocument.yaml()
    let bodies = try RequestBodies.bundled.get()
    router.addMiddleware {
        ProblemMiddleware()
        MetricsMiddleware()
        MethodNotAllowedMiddleware(methods: contract)
        PreparedStatementsMiddleware(enabled: config.databasePreparedStatements)
        TokenBeforeBodyMiddleware(db: db)
        BodyLimitMiddleware(maxBytes: config.maxRequestBodyBytes, bodies: bodies)
        ClientAddressMiddleware(trustedProxies: config.trustedProxies)
    }

    router.get("/healthz") { _, _ in HTTPResponse.Status.ok }
    router.get("/readyz") { _, context -> Response in
        let current = await Migrator(client: client, logger: context.logger).isCurrent(within: .seconds(2))
        return Response(
            status: current ? .ok : .serviceUnavailable,
            headers: [.contentType: "text/plain"],
            body: .init(byteBuffer: ByteBuffer(string: current ? "ready\n" : "database unreachable or not migrated\n")))
    }
    router.get("/metrics") { _, context in
        await FeedLag.sample(client, logger: context.logger)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
            body: .init(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
    }
    router.get("/openapi.yaml") { _, _ in
        Response(
            status: .ok, headers: [.contentType: "application/yaml"],
            body: .init(byteBuffer: ByteBuffer(bytes: document)))
    }

    let pages = try FamilyPage(db: db, config: config, logger: logger)
    pages.register(on: router)
    pages.registerPasswordReset(on: router)
    pages.registerDeviceSignIn(on: router, httpIssuersOnLoopback: config.httpIssuersOnLoopback)
    try SCIM(db: db, config: config, logger: logger).register(on: router)

    let service = KithService(
        db: db, config: config, logger: logger, cursorKey: cursorKey, syncRate: SyncRate(perMinute: config.syncRequestsPerMinute),
        wholeFamilyPulls: WholeFamilyPulls(capacity: config.wholeFamilyPulls), documents: .init(library: pages.templates))
    try service.registerHandlers(
        on: RecordingTransport(router: router, methods: contract), configuration: KithJSON.configuration,
        middlewares: [SignIn(db: db, maxBodyBytes: config.maxRequestBodyBytes, logger: logger), PullPage(service: service)])
    return router
}

extension PostgresClient {
    /// The pool `serve` uses (`serving`), whose every connection starts with the server's limits, or an operator's
    /// command's, which has none: a migration may wait for a lock and run long.
    static func kith(_ config: AppConfig, serving: Bool = false, logger: Logger) throws -> PostgresClient {
        guard let url = DatabaseURL(config.databaseURL) else {
            throw AppConfig.Invalid(problems: [DatabaseURL.problem(config.databaseURL) ?? "DATABASE_URL is not a postgres:// URL"])
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        let mode: PostgresClient.Configuration.TLS
        switch url.sslMode {
        case .disable: mode = .disable
        case .prefer, .require:
            // As libpq: encrypted, but the certificate is not checked (verify-full checks it and the host name).
            tls.certificateVerification = .none
            mode = url.sslMode == .prefer ? .prefer(tls) : .require(tls)
        case .verifyFull: mode = .require(tls)
        }
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database, tls: mode)
        configuration.options.maximumConnections = config.databasePoolSize
        // The server keeps its connections open (the minimum is the whole pool, from the environment) and pings none
        // while idle: PostgresNIO schedules a keep-alive timer, and an idle timer for connections beyond the minimum,
        // each time a connection goes back to the pool, and each cancelled timer (a cancelled `Task.sleep`) leaks about
        // a kilobyte on this Swift for Linux (6.3.1): 3 KB a request, 560 MiB after the benchmarks (heaptrack). A
        // connection that died while idle fails its next query, which the request reports and the pool replaces.
        configuration.options.minimumConnections = config.databasePoolMinimum
        configuration.options.keepAliveBehavior = nil
        if serving { configuration.options.additionalStartupParameters = config.timeouts.sessionSettings }
        return PostgresClient(configuration: configuration, backgroundLogger: logger)
    }
}

/// Every size a client controls has a limit: request bodies are read up to `maxBytes` and refused beyond. A JSON body
/// that names a key twice in one object, or sends null where the document has none, is refused too (`RequestJSON`).
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxBytes: Int
    let bodies: RequestBodies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        // A push too large to take is refused whole, with the code sync clients split their batches on.
        let tooLarge = KithError(
            status: .contentTooLarge, code: request.uri.path == "/v1/sync/push" ? "batch_too_large" : "too_large",
            detail: "The request body is larger than \(maxBytes) bytes.")
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBytes { throw tooLarge }
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw tooLarge
        }
        if request.headers[.contentType]?.lowercased().contains("json") == true,
           let finding = RequestJSON.first(in: body, body: bodies.body(request.method, request.uri.path)) {
            switch finding {
            case .keyTwice(let field):
                throw KithError.malformed(
                    "The JSON body names a key twice in one object.", fields: [.init(field: field, message: "appears twice in one object")])
            case .null(let field):
                throw KithError.malformed(
                    "The JSON body sends null where the contract has none: leave out what is not given.",
                    fields: [.init(field: field, message: "must not be null")])
            }
        }
        return try await next(request, context)
    }
}
