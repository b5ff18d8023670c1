package import Foundation
package import OpenAPIRuntime

/// Kith's JSON, configured once for the server, the terminal client and the payload hash.
package enum KithJSON {
    /// The wire: how the generated server and client write and read requests and responses. Times as
    /// `RFC3339DateTranscoder` has them, slashes unescaped, keys in no set order (no reader needs one, and sorting
    /// every object's keys is work on every record of a pull).
    package static var configuration: Configuration {
        .init(dateTranscoder: RFC3339DateTranscoder(), jsonEncodingOptions: [.withoutEscapingSlashes])
    }

    /// Reads a request's body as the generated server does, for an operation that answers in its own way (`PullPage`).
    package static func requestDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            try RFC3339DateTranscoder().decode(try decoder.singleValueContainer().decode(String.self))
        }
        return decoder
    }

    /// What Kith keeps: a pushed mutation's payload (whose SHA-256 a re-send is matched by), stored results and review
    /// items' payloads, the terminal's local copies. Keys sorted, so that one value is always the same bytes, and times
    /// in ISO 8601 to the second. These bytes are hashed: a change here changes every payload's hash, and re-sends of
    /// work pushed before it would no longer match.
    package static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    /// Reads what `encoder()` wrote.
    package static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    /// `value` as `encoder()` writes it, as text.
    package static func text(_ value: some Encodable) throws -> String {
        String(decoding: try encoder().encode(value), as: UTF8.self)
    }

    /// Reads `text` as `encoder()` wrote it.
    package static func decode<Value: Decodable>(_ type: Value.Type, from text: String) throws -> Value {
        try decoder().decode(type, from: Data(text.utf8))
    }
}
