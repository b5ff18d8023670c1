import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KithAPI
import KithCore
import Logging
import Metrics
import Prometheus
import PostgresNIO
import Testing
@testable import KithServer

/// A running Kith for one test: the real application on its own fresh database, a client for its router, a
/// database handle for seeding and for checking what was stored, and the seeded organisation.
struct Kith: Sendable {
    let client: any TestClientProtocol
    let db: PostgresClient
    let fixture: Fixture
    let databaseURL: String

    /// The server's way into the owner's database, waiting as long as the tests' servers do.
    var database: Database {
        Database(client: db, logger: TestDatabase.logger, timeouts: TestDatabase.servingConfig(databaseURL).timeouts)
    }

    static func run(
        _ configure: @Sendable (inout AppConfig) -> Void = { _ in }, over setup: TestingSetup = .router,
        _ test: @Sendable @escaping (Kith) async throws -> Void
    ) async throws {
        try await TestDatabase.withFreshDatabase { url in
            var configuration = TestDatabase.servingConfig(url)
            configure(&configuration)
            let config = configuration
            let logger = TestDatabase.logger
            let fixture = try await withDatabase(AppConfig(databaseURL: url), logger: logger) { try await Fixture.seed($0, logger: logger) }
            try await serve(url, fixture: fixture, config: config, over: setup, test)
        }
    }

    /// The application on a database that already holds `fixture` (another cluster's copy of it, say), serving as
    /// `kith_server` as a deployment does; `db` is the owner's, for seeding and for checking what was stored.
    static func serve(
        _ url: String, fixture: Fixture, config: AppConfig? = nil, over setup: TestingSetup = .router,
        _ test: @Sendable @escaping (Kith) async throws -> Void
    ) async throws {
        let config = config ?? TestDatabase.servingConfig(url)
        let logger = TestDatabase.logger
        try await withDatabase(AppConfig(databaseURL: url), logger: logger) { db in
            let app = try buildApplication(config, logger: logger, metrics: Self.metrics)
            try await app.test(setup) { client in
                try await test(Kith(client: client, db: db, fixture: fixture, databaseURL: url))
            }
        }
    }

    /// Metrics are process-wide (swift-metrics is bootstrapped once), so every test app reports into one registry.
    static let metrics: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    /// A request as a worker of the fixture (or anonymous), with a JSON body given as a value or as raw text.
    func request(
        _ method: HTTPRequest.Method, _ path: String, as who: Fixture.Who?, json: (any Encodable)? = nil, raw: String? = nil
    ) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let who { headers[.authorization] = "Bearer \(fixture.tokens[who]!)" }
        var body: ByteBuffer?
        if let json { body = ByteBuffer(bytes: try Self.encoder.encode(json)) }
        if let raw { body = ByteBuffer(string: raw) }
        if body != nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: path, method: method, headers: headers, body: body)
    }

    /// A request with any bearer token (a worker added by the test, a device).
    func request(_ method: HTTPRequest.Method, _ path: String, token: String, body: Data?) async throws -> TestResponse {
        var headers: HTTPFields = [.authorization: "Bearer \(token)"]
        if body != nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(bytes: $0) })
    }

    /// Another worker, signed in (their session written directly, as the fixture's are): their id and token.
    func addWorker(_ name: String, roles: [String], team: UUID?, organisation: UUID? = nil) async throws -> (id: UUID, token: String) {
        let org = organisation ?? fixture.organisation
        let id = UUID(), token = Tokens.generate()
        try await db.withTransaction(logger: TestDatabase.logger) { connection in
            try await connection.query(
                """
                INSERT INTO workers (organisation_id, id, name, email, password_hash, roles)
                VALUES (\(org), \(id), \(name), \("\(id.text)@test.kith"), 'not a hash', \(roles))
                """, logger: TestDatabase.logger)
            if let team {
                try await connection.query(
                    "INSERT INTO team_members (organisation_id, team_id, worker_id) VALUES (\(org), \(team), \(id))",
                    logger: TestDatabase.logger)
            }
            try await connection.query(
                """
                INSERT INTO sessions (organisation_id, id, worker_id, token_hash, expires_at)
                VALUES (\(org), \(UUID()), \(id), \(Tokens.hash(token)), now() + interval '1 hour')
                """, logger: TestDatabase.logger)
        }
        return (id, token)
    }

    /// A fingerprint of every table, to show that a refused request changed nothing anywhere.
    func fingerprint() async throws -> [String: String] {
        let tables = try await db.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename", logger: TestDatabase.logger
        ).collect().map { try $0.decode(String.self) }
        var prints: [String: String] = [:]
        for table in tables {
            prints[table] = try await db.query(
                PostgresQuery(unsafeSQL: "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \(table) t"),
                logger: TestDatabase.logger
            ).decode(String.self).first { _ in true }
        }
        return prints
    }

    /// A request that must answer `status`; its body decoded as `T`.
    func send<T: Decodable>(
        _ method: HTTPRequest.Method, _ path: String, as who: Fixture.Who, json: (any Encodable)? = nil,
        expect status: HTTPResponse.Status = .ok, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> T {
        let response = try await request(method, path, as: who, json: json)
        #expect(response.status == status, "\(method) \(path): \(String(buffer: response.body))", sourceLocation: sourceLocation)
        return try Self.decoder.decode(T.self, from: response.body)
    }

    func problem(_ response: TestResponse) throws -> Problem {
        #expect(response.headers[.contentType] == "application/problem+json")
        return try Self.decoder.decode(Problem.self, from: response.body)
    }

    /// A family in the North team, opened by Priya (so she is its allocated worker).
    func openFamily(_ name: String = "The Adeyemi family", by who: Fixture.Who = .priya) async throws -> Components.Schemas.Family {
        try await send(.post, "/v1/families", as: who, json: ["displayName": name], expect: .created)
    }

    /// Sam, the North team's supervisor, allocates `who` to the family from today.
    @discardableResult
    func allocate(
        _ who: Fixture.Who, to family: Components.Schemas.Family, role: Components.Schemas.AllocationRole = .allocatedWorker,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Components.Schemas.Allocation {
        try await send(
            .post, "/v1/families/\(family.id)/allocations", as: .sam,
            json: ["workerId": fixture.id(who).text, "role": role.rawValue, "startedOn": CalendarDay.today.text], expect: .created,
            sourceLocation: sourceLocation)
    }

    func count(_ sql: String) async throws -> Int {
        try await db.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger).decode(Int.self).first { _ in true } ?? -1
    }
}

struct Problem: Decodable {
    struct FieldError: Decodable { var field: String; var message: String }
    var type: String
    var title: String
    var status: Int
    var detail: String?
    var code: String
    var errors: [FieldError]?
}

extension JSONDecoder {
    func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        try decode(type, from: Data(buffer: buffer))
    }
}
