import Foundation
import Logging
import PostgresNIO

extension PostgresConnection {
    /// Inserts a record whose id a client may have chosen (offline, say). An id already in use changes nothing and
    /// answers 409: a new record never overwrites another.
    func insertNew(_ insert: PostgresQuery, record: String, alsoUnique: String? = nil, logger: Logger) async throws {
        let statement = PostgresQuery(unsafeSQL: insert.sql + "\nON CONFLICT DO NOTHING\nRETURNING id", binds: insert.binds)
        let inserted = try await query(statement, logger: logger).decode(UUID.self).first { _ in true }
        guard inserted != nil else {
            let what = alsoUnique.map { "this id or \($0)" } ?? "this id"
            throw KithError.conflict("conflict", "A \(record) with \(what) already exists.")
        }
    }
}
