package import Foundation
package import OpenAPIRuntime

/// Times in requests are RFC 3339 with or without fractional seconds (device clocks and Python's `isoformat()` send
/// microseconds); what Kith writes keeps whole seconds. The server and the terminal client share it.
package struct RFC3339DateTranscoder: DateTranscoder {
    package init() {}

    private static let whole = Date.ISO8601FormatStyle()
    private static let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    package func encode(_ date: Date) throws -> String { Self.whole.format(date) }

    package func decode(_ text: String) throws -> Date {
        if let date = try? Self.whole.parse(text) { return date }
        if let date = try? Self.fractional.parse(text) { return date }
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(text) is not an RFC 3339 time"))
    }
}

extension Configuration {
    /// How the server and the terminal client write and read Kith's JSON: times as above, slashes unescaped, keys in
    /// no set order (no reader needs one, and sorting every object's keys is work on every record of a pull).
    package static var kith: Configuration {
        .init(dateTranscoder: RFC3339DateTranscoder(), jsonEncodingOptions: [.withoutEscapingSlashes])
    }
}
