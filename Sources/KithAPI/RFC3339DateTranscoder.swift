package import Foundation
internal import KithCore
package import OpenAPIRuntime

/// Times in requests are RFC 3339 with or without fractional seconds (device clocks and Python's `isoformat()` send
/// microseconds); what Kith writes keeps whole seconds. The server and the terminal client share it.
package struct RFC3339DateTranscoder: DateTranscoder {
    package init() {}

    private static let whole = Date.ISO8601FormatStyle()
    private static let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    package func encode(_ date: Date) throws -> String { Self.whole.format(date) }

    package func decode(_ text: String) throws -> Date {
        if Self.isRealTime(text) {
            if let date = try? Self.whole.parse(text) { return date }
            if let date = try? Self.fractional.parse(text) { return date }
        }
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(text) is not an RFC 3339 time"))
    }

    /// The parser reads 2026-02-30 as 2 March, takes 24:00 and ignores what follows a time; a time someone wrote down is
    /// taken only as written: a real day, a time of day on it, at most nine digits of a second, then `Z` or an offset.
    private static func isRealTime(_ text: String) -> Bool {
        let characters = Array(text.utf8)
        guard characters.count >= 20, characters[10] == UInt8(ascii: "T"), CalendarDay(String(text.prefix(10))) != nil else { return false }
        func number(_ at: Int) -> Int? {
            guard at + 2 <= characters.count, characters[at..<at + 2].allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
            return Int(String(decoding: characters[at..<at + 2], as: UTF8.self))
        }
        guard let hour = number(11), let minute = number(14), let second = number(17), hour < 24, minute < 60, second < 60,
              characters[13] == UInt8(ascii: ":"), characters[16] == UInt8(ascii: ":")
        else { return false }
        var rest = characters[19...]
        if rest.first == UInt8(ascii: ".") {
            let digits = rest.dropFirst().prefix { (0x30...0x39).contains($0) }
            guard (1...9).contains(digits.count) else { return false }
            rest = rest.dropFirst(1 + digits.count)
        }
        if Array(rest) == [UInt8(ascii: "Z")] { return true }
        let offset = Array(rest)
        return offset.count == 6 && (offset[0] == UInt8(ascii: "+") || offset[0] == UInt8(ascii: "-")) && offset[3] == UInt8(ascii: ":")
            && number(characters.count - 5) != nil && number(characters.count - 2) != nil
    }
}
