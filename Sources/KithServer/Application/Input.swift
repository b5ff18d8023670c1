import Foundation
import KithCore

/// Reading the generated types' strings into values, collecting every problem for one 400 answer.
extension Validation {
    /// A required or optional UUID in a request body.
    mutating func uuid(_ field: String, _ value: String?) -> UUID? {
        guard let value else { return nil }
        guard let id = UUID(uuidString: value) else {
            add(field, "must be a UUID")
            return nil
        }
        return id
    }

    mutating func uuids(_ field: String, _ values: [String]?, max: Int) -> [UUID] {
        guard let values else { return [] }
        count(field, values.count, max: max)
        return values.enumerated().compactMap { uuid("\(field)[\($0.offset)]", $0.element) }
    }

    mutating func day(_ field: String, _ value: String?) -> CalendarDay? {
        guard let value else { return nil }
        guard let day = CalendarDay(value) else {
            add(field, "must be a date, YYYY-MM-DD")
            return nil
        }
        return day
    }

    /// A span of days from `from` to `to`, both included: `to` defaults to today and `from` to `days` before it. Either
    /// way round is refused (`to` before `from`), as is a span of more than ten years.
    mutating func days(from: String?, to: String?, lastDays days: Int) -> ClosedRange<CalendarDay> {
        let end = day("to", to) ?? .today
        let start = day("from", from) ?? end.adding(days: 1 - days)
        if end < start { add("to", "must not be before from") } else if end - start > 3660 { add("from", "must be at most ten years before to") }
        return start...max(start, end)
    }

    /// Characters that print, no spaces: identifiers other systems give (a client id, a subject).
    static func visible(max: Int) -> String { #"^[^\x00-\x20\x7F]{1,"# + "\(max)}$" }

    /// Text of a fixed shape (a sign-in name, a claim's name), `shape` saying it in words.
    mutating func matches(_ field: String, _ value: String, _ pattern: String, _ shape: String) {
        if (try? Regex(pattern).wholeMatch(in: value)) == nil { add(field, "must be \(shape)") }
    }

    /// A point in time a person entered: not before 1900, and not more than a day ahead of the server's clock.
    mutating func moment(_ field: String, _ value: Date?) {
        guard let value else { return }
        if value < Date(timeIntervalSince1970: -2_208_988_800) || value > Date().addingTimeInterval(86_400) {
            add(field, "must be a real time, not in the future")
        }
    }

    func orThrow() throws {
        guard isValid else {
            throw KithError.malformed(
                "The request has fields that are not valid.",
                fields: problems.map { KithError.FieldError(field: $0.field, message: $0.message) })
        }
    }
}

extension UUID {
    /// Lower-case, as the contract writes ids. Written out here rather than as `uuidString.lowercased()`: Foundation
    /// formats it with `sprintf` and then copies it to lower the case, a cost every record of a pull paid several times.
    var text: String {
        let digits: StaticString = "0123456789abcdef"
        return withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { out in
                var at = 0
                for (index, byte) in bytes.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        out[at] = UInt8(ascii: "-")
                        at += 1
                    }
                    out[at] = digits.utf8Start[Int(byte >> 4)]
                    out[at + 1] = digits.utf8Start[Int(byte & 0x0F)]
                    at += 2
                }
                return at
            }
        }
    }

    /// An id in a path: one that is not a UUID names nothing, so it answers like any unknown id.
    init(path: String) throws {
        guard let id = UUID(uuidString: path) else { throw KithError.notFound }
        self = id
    }
}

/// Page sizes a client may ask for.
enum PageSize {
    static func resolve(_ requested: Int?) throws -> Int {
        let limit = requested ?? 50
        guard (1...200).contains(limit) else { throw KithError.invalidField("limit", "must be between 1 and 200") }
        return limit
    }
}

/// Where the previous page of a list ordered by (sort key, id) ended, read from a signed `?after=` (`ListCursor`).
/// The sort key is kept as PostgreSQL wrote it (a timestamp to the microsecond) and handed back to PostgreSQL as is.
struct KeysetPosition {
    let key: String
    let id: UUID

    init?(_ value: String?, in list: ListCursor.List, cursors: ListCursor, for principal: Principal) throws {
        guard let keys = try cursors.read(value, keys: 2, list: list, for: principal) else { return nil }
        guard keys[0].count <= 1000, let id = UUID(uuidString: keys[1]) else { throw ListCursor.notFromThisList() }
        self.key = keys[0]
        self.id = id
    }
}
