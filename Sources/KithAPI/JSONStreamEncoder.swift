import Foundation
package import OpenAPIRuntime

/// Writes an `Encodable` value as JSON straight into bytes, as `KithJSON.configuration` has Foundation's `JSONEncoder` write
/// it (times by the date transcoder, slashes unescaped; keys here in the order the type encodes them), without the tree of
/// values Foundation builds and then serialises: a device's first sync is thousands of records, and building that tree
/// was most of the server's time for it (docs/benchmarks.md).
///
/// Containers are written as they are filled. One is closed when a container outside it is written to, or when the
/// encoding of the value that opened it returns; a value's encoder asked for its container again continues the same
/// object, as Foundation merges them (generated `allOf` types encode each part into one object so). The generated types
/// fill their containers in that order; a value that writes to a container already closed is refused with `Unsupported`,
/// never written wrong.
package struct JSONStreamEncoder: Sendable {
    let dateTranscoder: any DateTranscoder

    package init(dateTranscoder: any DateTranscoder = RFC3339DateTranscoder()) {
        self.dateTranscoder = dateTranscoder
    }

    package func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let writer = Writer(dateTranscoder: dateTranscoder)
        try writer.value(value)
        return writer.bytes
    }

    /// A value written out of the order it was opened in.
    package struct Unsupported: Error, CustomStringConvertible {
        package let description: String
    }
}

private final class Writer {
    private(set) var bytes: [UInt8] = []
    let dateTranscoder: any DateTranscoder
    /// The open containers, innermost last, each with an id of its own and whether anything was written into it yet.
    private var open: [(object: Bool, id: Int, empty: Bool)] = []
    private var opened = 0
    /// Where the containers of the value being encoded begin on the stack: the first is its own, the rest nested in it.
    private var base = 0

    init(dateTranscoder: any DateTranscoder) {
        self.dateTranscoder = dateTranscoder
        bytes.reserveCapacity(64 * 1024)
    }

    /// Writes one value and closes whatever containers its own encoding opened.
    func value<Value: Encodable>(_ value: Value) throws {
        if Value.self == Date.self { return string(try dateTranscoder.encode(value as! Date)) }
        if Value.self == String.self { return string(value as! String) }
        if Value.self == Data.self { return string((value as! Data).base64EncodedString()) }
        let start = bytes.count
        let outer = base
        base = open.count
        defer { base = outer }
        try value.encode(to: StreamEncoder(writer: self))
        close(above: base - 1)
        // A value whose encoding wrote nothing is an empty object, as Foundation writes it.
        if bytes.count == start { bytes.append(contentsOf: "{}".utf8) }
    }

    /// The value's own container, opened, or continued when it is asked for again (nil when it is asked for as the
    /// other kind).
    func own(object: Bool) -> (index: Int, id: Int)? {
        guard open.count > base else { return nested(object: object) }
        return open[base].object == object ? (base, open[base].id) : nil
    }

    /// A new container inside the innermost one.
    func nested(object: Bool) -> (index: Int, id: Int) {
        bytes.append(object ? UInt8(ascii: "{") : UInt8(ascii: "["))
        opened += 1
        open.append((object, opened, true))
        return (open.count - 1, opened)
    }

    /// Makes the container at `index` the innermost, closing any opened after it, and writes the separator before its
    /// next member.
    func enter(_ container: (index: Int, id: Int)) throws {
        guard container.index < open.count, open[container.index].id == container.id else {
            throw JSONStreamEncoder.Unsupported(description: "a container written to after it was closed")
        }
        close(above: container.index)
        if open[container.index].empty { open[container.index].empty = false } else { bytes.append(UInt8(ascii: ",")) }
    }

    func close(above index: Int) {
        while open.count - 1 > index {
            bytes.append(open.removeLast().object ? UInt8(ascii: "}") : UInt8(ascii: "]"))
        }
    }

    func key(_ key: any CodingKey) {
        string(key.stringValue)
        bytes.append(UInt8(ascii: ":"))
    }

    func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            guard utf8.contains(where: Self.needsEscape) else { return bytes.append(contentsOf: utf8) }
            var plain = 0
            for (index, byte) in utf8.enumerated() where Self.needsEscape(byte) {
                bytes.append(contentsOf: utf8[plain..<index])
                plain = index + 1
                switch byte {
                case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
                case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
                case 0x0A: bytes.append(contentsOf: #"\n"#.utf8)
                case 0x0D: bytes.append(contentsOf: #"\r"#.utf8)
                case 0x09: bytes.append(contentsOf: #"\t"#.utf8)
                case 0x08: bytes.append(contentsOf: #"\b"#.utf8)
                case 0x0C: bytes.append(contentsOf: #"\f"#.utf8)
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    bytes.append(contentsOf: #"\u00"#.utf8)
                    bytes.append(hex[Int(byte >> 4)])
                    bytes.append(hex[Int(byte & 0x0F)])
                }
            }
            bytes.append(contentsOf: utf8[plain...])
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    func literal(_ text: String) { bytes.append(contentsOf: text.utf8) }

    func double(_ number: Double) throws {
        guard number.isFinite else {
            throw EncodingError.invalidValue(number, .init(codingPath: [], debugDescription: "JSON has no \(number)"))
        }
        // As Foundation writes them: a whole number without a fraction.
        if number == number.rounded(), abs(number) < 1e15 { literal(String(Int64(number))) } else { literal("\(number)") }
    }
}

private struct StreamEncoder: Encoder {
    let writer: Writer
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        guard let own = writer.own(object: true) else { return KeyedEncodingContainer(Refused<Key>()) }
        return KeyedEncodingContainer(Keyed(writer: writer, container: own))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        guard let own = writer.own(object: false) else { return Refused<AnyCodingKey>() }
        return Unkeyed(writer: writer, container: own)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { Single(writer: writer) }
}

private struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: Writer
    let container: (index: Int, id: Int)
    var codingPath: [any CodingKey] { [] }

    private func member(_ key: Key) throws {
        try writer.enter(container)
        writer.key(key)
    }

    mutating func encodeNil(forKey key: Key) throws { try member(key); writer.literal("null") }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try member(key); writer.literal(value ? "true" : "false") }
    mutating func encode(_ value: String, forKey key: Key) throws { try member(key); writer.string(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try member(key); try writer.double(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try member(key); try writer.double(Double(value)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try member(key); writer.literal(String(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try member(key); writer.literal(String(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try member(key); writer.literal(String(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try member(key); writer.literal(String(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try member(key); writer.literal(String(value)) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try member(key); writer.literal(String(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try member(key); writer.literal(String(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try member(key); writer.literal(String(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try member(key); writer.literal(String(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try member(key); writer.literal(String(value)) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try member(key)
        try writer.value(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        guard (try? member(key)) != nil else { return KeyedEncodingContainer(Refused<NestedKey>()) }
        return KeyedEncodingContainer(Keyed<NestedKey>(writer: writer, container: writer.nested(object: true)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        guard (try? member(key)) != nil else { return Refused<Key>() }
        return Unkeyed(writer: writer, container: writer.nested(object: false))
    }

    mutating func superEncoder() -> any Encoder { Unavailable() }
    mutating func superEncoder(forKey key: Key) -> any Encoder { Unavailable() }
}

private struct Unkeyed: UnkeyedEncodingContainer {
    let writer: Writer
    let container: (index: Int, id: Int)
    var codingPath: [any CodingKey] { [] }
    private(set) var count = 0

    init(writer: Writer, container: (index: Int, id: Int)) {
        self.writer = writer
        self.container = container
    }

    private mutating func element() throws {
        try writer.enter(container)
        count += 1
    }

    mutating func encodeNil() throws { try element(); writer.literal("null") }
    mutating func encode(_ value: Bool) throws { try element(); writer.literal(value ? "true" : "false") }
    mutating func encode(_ value: String) throws { try element(); writer.string(value) }
    mutating func encode(_ value: Double) throws { try element(); try writer.double(value) }
    mutating func encode(_ value: Float) throws { try element(); try writer.double(Double(value)) }
    mutating func encode(_ value: Int) throws { try element(); writer.literal(String(value)) }
    mutating func encode(_ value: Int8) throws { try element(); writer.literal(String(value)) }
    mutating func encode(_ value: Int16) throws { try element(); writer.literal(String(value)) }
    mutating func encode(_ value: Int32) throws { try element(); writer.literal(String(value)) }
    mutating func encode(_ value: Int64) throws { try element(); writer.literal(String(value)) }
    mutating func encode(_ value: UInt) throws { try element(); writer.literal(String(value)) }
    mutating func encode(_ value: UInt8) throws { try element(); writer.literal(String(value)) }
    mutating func encode(_ value: UInt16) throws { try element(); writer.literal(String(value)) }
    mutating func encode(_ value: UInt32) throws { try element(); writer.literal(String(value)) }
    mutating func encode(_ value: UInt64) throws { try element(); writer.literal(String(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try element()
        try writer.value(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        guard (try? element()) != nil else { return KeyedEncodingContainer(Refused<NestedKey>()) }
        return KeyedEncodingContainer(Keyed<NestedKey>(writer: writer, container: writer.nested(object: true)))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        guard (try? element()) != nil else { return Refused<AnyCodingKey>() }
        return Unkeyed(writer: writer, container: writer.nested(object: false))
    }

    mutating func superEncoder() -> any Encoder { Unavailable() }
}

private struct Single: SingleValueEncodingContainer {
    let writer: Writer
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { writer.literal("null") }
    mutating func encode(_ value: Bool) throws { writer.literal(value ? "true" : "false") }
    mutating func encode(_ value: String) throws { writer.string(value) }
    mutating func encode(_ value: Double) throws { try writer.double(value) }
    mutating func encode(_ value: Float) throws { try writer.double(Double(value)) }
    mutating func encode(_ value: Int) throws { writer.literal(String(value)) }
    mutating func encode(_ value: Int8) throws { writer.literal(String(value)) }
    mutating func encode(_ value: Int16) throws { writer.literal(String(value)) }
    mutating func encode(_ value: Int32) throws { writer.literal(String(value)) }
    mutating func encode(_ value: Int64) throws { writer.literal(String(value)) }
    mutating func encode(_ value: UInt) throws { writer.literal(String(value)) }
    mutating func encode(_ value: UInt8) throws { writer.literal(String(value)) }
    mutating func encode(_ value: UInt16) throws { writer.literal(String(value)) }
    mutating func encode(_ value: UInt32) throws { writer.literal(String(value)) }
    mutating func encode(_ value: UInt64) throws { writer.literal(String(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws { try writer.value(value) }
}

/// What a container that could not be opened in order gives back: every write to it is refused.
private struct Refused<Key: CodingKey>: KeyedEncodingContainerProtocol, UnkeyedEncodingContainer {
    var codingPath: [any CodingKey] { [] }
    var count: Int { 0 }

    private func refuse() -> JSONStreamEncoder.Unsupported {
        .init(description: "a container opened out of order")
    }

    mutating func encodeNil(forKey key: Key) throws { throw refuse() }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { throw refuse() }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(Refused<NestedKey>())
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { self }
    mutating func superEncoder() -> any Encoder { Unavailable() }
    mutating func superEncoder(forKey key: Key) -> any Encoder { Unavailable() }
    mutating func encodeNil() throws { throw refuse() }
    mutating func encode<T: Encodable>(_ value: T) throws { throw refuse() }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(Refused<NestedKey>())
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { self }
}

/// `superEncoder`, which no generated type uses: its containers refuse every write.
private struct Unavailable: Encoder {
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(Refused<Key>())
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer { Refused<AnyCodingKey>() }
    func singleValueContainer() -> any SingleValueEncodingContainer { Unsupported() }

    private struct Unsupported: SingleValueEncodingContainer {
        var codingPath: [any CodingKey] { [] }
        mutating func encodeNil() throws { throw JSONStreamEncoder.Unsupported(description: "superEncoder") }
        mutating func encode<T: Encodable>(_ value: T) throws { throw JSONStreamEncoder.Unsupported(description: "superEncoder") }
    }
}

private struct AnyCodingKey: CodingKey {
    let stringValue: String
    let intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue; intValue = nil }
    init(intValue: Int) { stringValue = String(intValue); self.intValue = intValue }
}
