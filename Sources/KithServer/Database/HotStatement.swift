import Hummingbird
import Logging
import PostgresNIO
import Synchronization

/// A statement run on nearly every request (the access check, a note, the timeline), which PostgreSQL then parses
/// and plans once per connection instead of each time: planning, not running, was most of the database's time for
/// them (docs/benchmarks.md). It is written like any other query, interpolated, and must come out as the same SQL
/// on every call (values only ever travel as binds); a type conforming to this names it. A value that may be nil is
/// cast in the SQL to the type Swift binds it as (`\(text)::text`, then any conversion): when the first call binds
/// nil, PostgreSQL takes the parameter's type from the SQL, and every later call's value must be of that type.
///
/// Behind a pooler that cannot keep named statements (PgBouncer before 1.21 in transaction mode),
/// `KITH_DB_PREPARED_STATEMENTS=off` sends them unnamed, like every other query.
protocol HotStatement: Sendable {}

extension PostgresConnection {
    /// Runs `query` as the prepared statement `Site` (or unnamed, when this task's database prepares none), its rows
    /// read in full.
    func query<Site: HotStatement>(
        _ site: Site.Type, _ query: PostgresQuery, logger: Logger
    ) async throws -> [PostgresRow] {
        guard Database.preparesStatements, PreparedSQL.register(Site.self, query.sql) else {
            return try await self.query(query, logger: logger).collect()
        }
        var rows: [PostgresRow] = []
        for try await row in try await execute(Prepared<Site>(bindings: query.binds), logger: logger) { rows.append(row) }
        return rows
    }
}

/// Each site's SQL as its first call wrote it. A later call whose SQL differs (a site that builds its SQL from
/// input, which none may) is sent unnamed rather than run as another statement under the same name.
private enum PreparedSQL {
    static let texts = Mutex<[ObjectIdentifier: String]>([:])

    static func register<Site>(_ site: Site.Type, _ sql: String) -> Bool {
        texts.withLock { texts in
            let known = texts[ObjectIdentifier(site), default: sql]
            texts[ObjectIdentifier(site)] = known
            return known == sql
        }
    }

    static func text<Site>(_ site: Site.Type) -> String { texts.withLock { $0[ObjectIdentifier(site)] ?? "" } }
}

private struct Prepared<Site: HotStatement>: PostgresPreparedStatement {
    typealias Row = PostgresRow
    static var name: String { "kith_\(Site.self)" }
    static var sql: String { PreparedSQL.text(Site.self) }
    let bindings: PostgresBindings

    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

/// Runs each request with its server's way of sending hot statements (`KITH_DB_PREPARED_STATEMENTS`).
struct PreparedStatementsMiddleware<Context: RequestContext>: RouterMiddleware {
    let enabled: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await Database.$preparesStatements.withValue(enabled) { try await next(request, context) }
    }
}
