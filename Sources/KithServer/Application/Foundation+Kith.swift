import Foundation

/// Small helpers on Foundation's types that several features use, in one place.
extension Optional where Wrapped == String {
    /// Blank text means "none" for optional free-text fields.
    var nilIfBlank: String? {
        guard let self, !self.allSatisfy(\.isWhitespace) else { return nil }
        return self
    }
}

extension Data {
    var utf8Text: String { String(decoding: self, as: UTF8.self) }
    /// Lower-case hex. (Formatting each byte with `String(format:)` was a tenth of a push's time.)
    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(count * 2)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
