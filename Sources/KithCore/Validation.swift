/// Collects every problem with a request's fields, so a client hears about all of them at once.
///
/// Only shape is checked (lengths, control characters, ranges): Kith never rejects incomplete practice,
/// so nothing here makes a field mandatory beyond what the contract needs to attribute a record.
public struct Validation: Sendable {
    public struct Problem: Sendable, Equatable {
        public var field: String
        public var message: String
    }

    public private(set) var problems: [Problem] = []

    public init() {}

    public var isValid: Bool { problems.isEmpty }

    public mutating func add(_ field: String, _ message: String) {
        problems.append(Problem(field: field, message: message))
    }

    /// Text a person typed: no NUL or other control characters but tab and newlines, within a length counted in
    /// Unicode code points, as the contract's `maxLength` and PostgreSQL's `char_length` count them.
    public mutating func text(_ field: String, _ value: String?, min: Int = 0, max: Int) {
        guard let value else { return }
        let count = value.unicodeScalars.count
        if count < min {
            add(field, min == 1 ? "must not be empty" : "must have at least \(min) characters")
        } else if count > max {
            add(field, "must have at most \(max) characters")
        } else if value.unicodeScalars.contains(where: Self.isForbidden) {
            add(field, "must not contain control characters")
        }
    }

    /// Like `text`, but blank text (only Unicode white space, the contract's `words` pattern) counts as missing.
    public mutating func requiredText(_ field: String, _ value: String, max: Int) {
        if value.unicodeScalars.allSatisfy(\.properties.isWhitespace) {
            add(field, "must not be blank")
        } else {
            text(field, value, max: max)
        }
    }

    public mutating func count(_ field: String, _ count: Int, max: Int) {
        if count > max { add(field, "must have at most \(max) entries") }
    }

    public mutating func range(_ field: String, _ value: Int?, _ range: ClosedRange<Int>) {
        guard let value else { return }
        if !range.contains(value) { add(field, "must be between \(range.lowerBound) and \(range.upperBound)") }
    }

    private static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: false
        case 0x00...0x1F, 0x7F: true
        default: false
        }
    }
}
