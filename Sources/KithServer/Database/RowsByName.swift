import PostgresNIO

extension PostgresRandomAccessRow {
    struct MissingColumn: Error, CustomStringConvertible {
        let name: String
        var description: String { "the statement returns no column \(name)" }
    }

    /// The column `name`, decoded. A reader of many columns reads them by name, so a column added to, moved in or
    /// dropped from its statement cannot shift the others; one the statement does not return is an error, not a crash.
    func decode<T: PostgresDecodable>(_ name: String, as _: T.Type = T.self) throws -> T {
        guard contains(name) else { throw MissingColumn(name: name) }
        return try self[name].decode(T.self)
    }
}
