import Foundation
import HTTPTypes
import KithAPI
import NIOCore
import Yams

/// What Foundation's decoder lets through in a JSON request body but the contract does not, found in one pass over the
/// bytes before anything reads the body:
/// - a key named twice in one object: the decoder silently keeps one of the two values, so
///   `{"audience": "family", "audience": "restricted"}` would mean whatever it chose. Keys are compared as decoded
///   (`"a"` and `"\u0061"` are one key).
/// - `null` for a property whose schema does not allow it: the decoder takes it as absent, so `{"closedOn": null}`
///   sent to clear a date would change nothing and answer 200. An optional property is left out, not null. Where a
///   schema does allow null (a field edit's value, which clears the field; a pull's cursor) it is taken, and what the
///   document leaves open (a pushed mutation's `args`, a key it does not name) is not looked at.
/// Malformed JSON is left for the decoder to refuse.
enum RequestJSON {
    enum Finding: Equatable {
        case keyTwice(field: String)
        case null(field: String)
    }

    /// The first finding in `bytes`, a body of the shape `body` (nil: a body the contract does not describe).
    static func first(in bytes: ByteBuffer, body: RequestBodies.Slot?) -> Finding? {
        var scanner = Scanner(bytes: bytes.readableBytesView, root: body)
        return scanner.run()
    }

    enum Step: Equatable {
        case key(String)
        case index(Int)
    }

    /// A path as problem fields name it: `referral.referrer.name`, `items[0].what`.
    static func field(_ path: [Step]) -> String {
        path.reduce(into: "") { text, step in
            switch step {
            case .key(let key): text += text.isEmpty ? key : ".\(key)"
            case .index(let index): text += "[\(index)]"
            }
        }
    }

    private struct Container {
        /// An object's keys so far; nil for an array.
        var keys: Set<String>?
        var expectsKey: Bool
        /// The step to the value being read: the object's last key, or the array's index.
        var step: Step?
        /// What the document says this container holds; nil where it says nothing.
        let shape: RequestBodies.Shape?
    }

    private struct Scanner {
        let bytes: ByteBufferView
        let root: RequestBodies.Slot?
        var index: ByteBufferView.Index
        var open: [Container] = []

        init(bytes: ByteBufferView, root: RequestBodies.Slot?) {
            self.bytes = bytes
            self.root = root
            self.index = bytes.startIndex
        }

        var path: [Step] { open.compactMap(\.step) }

        /// What the document says of the value about to be read.
        var slot: RequestBodies.Slot? {
            guard let container = open.last else { return root }
            switch (container.shape, container.step) {
            case (.object(let properties, let others)?, .key(let key)?): return properties[key] ?? others
            case (.array(let items)?, _): return items
            default: return nil
            }
        }

        mutating func run() -> Finding? {
            while index < bytes.endIndex {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "{"): open.append(Container(keys: [], expectsKey: true, step: nil, shape: slot?.shape))
                case UInt8(ascii: "["): open.append(Container(keys: nil, expectsKey: false, step: .index(0), shape: slot?.shape))
                case UInt8(ascii: "}"), UInt8(ascii: "]"): if !open.isEmpty { open.removeLast() }
                case UInt8(ascii: ","):
                    if let last = open.indices.last {
                        if open[last].keys != nil {
                            open[last].expectsKey = true
                        } else if case .index(let position) = open[last].step {
                            open[last].step = .index(position + 1)
                        }
                    }
                case UInt8(ascii: "n"):
                    guard bytes[index...].starts(with: "null".utf8) else { return nil }
                    if let slot, !slot.nullable { return .null(field: RequestJSON.field(path)) }
                case UInt8(ascii: "\""):
                    guard let text = string() else { return nil }
                    if let last = open.indices.last, open[last].expectsKey, var keys = open[last].keys {
                        open[last].step = .key(text)
                        if keys.contains(text) { return .keyTwice(field: RequestJSON.field(path)) }
                        keys.insert(text)
                        open[last].keys = keys
                        open[last].expectsKey = false
                    }
                    continue
                default: break
                }
                index = bytes.index(after: index)
            }
            return nil
        }

        /// The string starting at `index` (its opening quote), decoded, with `index` after its closing quote; nil for
        /// an unterminated or malformed one.
        private mutating func string() -> String? {
            let start = index
            var escaped = false
            index = bytes.index(after: index)
            while index < bytes.endIndex {
                let byte = bytes[index]
                index = bytes.index(after: index)
                if escaped { escaped = false; continue }
                if byte == UInt8(ascii: "\\") { escaped = true; continue }
                if byte == UInt8(ascii: "\"") {
                    let raw = Array(bytes[start..<index])
                    guard raw.contains(UInt8(ascii: "\\")) else { return String(decoding: raw.dropFirst().dropLast(), as: UTF8.self) }
                    return (try? JSONSerialization.jsonObject(with: Data(raw), options: .fragmentsAllowed)) as? String
                }
            }
            return nil
        }
    }
}

/// The request bodies of the served document, reduced to what `RequestJSON` checks: where each object's properties are
/// and which of them may be null. Read once from the document itself, so the rule is the document's.
struct RequestBodies: Sendable {
    indirect enum Shape: Sendable {
        /// An object's named properties, and what any other key holds (nil: the document leaves it open).
        case object(properties: [String: Slot], others: Slot?)
        case array(items: Slot)
        case scalar
    }

    struct Slot: Sendable {
        let shape: Shape
        let nullable: Bool
    }

    private let routes: [(method: String, template: PathTemplate, body: Slot)]

    /// This build's document, read once per process (every application built in one, as the tests do, shares it).
    static let bundled = Result { try RequestBodies(document: APIDocument.yaml()) }

    init(document: Data) throws {
        guard let root = try Yams.load(yaml: String(decoding: document, as: UTF8.self)) as? [String: Any],
              let paths = root["paths"] as? [String: Any]
        else { throw CocoaError(.fileReadCorruptFile) }
        let schemas = (root["components"] as? [String: Any])?["schemas"] as? [String: Any] ?? [:]
        var routes: [(String, PathTemplate, Slot)] = []
        for (path, item) in paths {
            for (method, operation) in item as? [String: Any] ?? [:] {
                guard let body = ((operation as? [String: Any])?["requestBody"] as? [String: Any])?["content"] as? [String: Any],
                      let json = body["application/json"] as? [String: Any]
                else { continue }
                let slot = Self.slot(json["schema"], schemas: schemas, depth: 0)
                routes.append((method.uppercased(), PathTemplate(path), Slot(shape: slot.shape, nullable: false)))
            }
        }
        self.routes = routes
    }

    /// The body of the operation at `path`, the most specific template matching it.
    func body(_ method: HTTPRequest.Method, _ path: String) -> Slot? {
        let segments = path.split(separator: "/")
        return routes.lazy
            .filter { $0.method == method.rawValue && $0.template.matches(segments) }
            .min { $0.template.parameters < $1.template.parameters }?
            .body
    }

    private static func slot(_ schema: Any?, schemas: [String: Any], depth: Int) -> Slot {
        guard depth < 32, let schema = schema as? [String: Any] else { return Slot(shape: .scalar, nullable: true) }
        if let reference = schema["$ref"] as? String {
            return slot(schemas[String(reference.split(separator: "/").last ?? "")], schemas: schemas, depth: depth + 1)
        }
        let types = (schema["type"] as? [String]) ?? (schema["type"] as? String).map { [$0] } ?? []
        // No type (anyOf, say) leaves the value open, null among what it may be.
        let nullable = types.isEmpty || types.contains("null")
        if types.contains("array") {
            return Slot(shape: .array(items: slot(schema["items"], schemas: schemas, depth: depth + 1)), nullable: nullable)
        }
        if types.contains("object") || schema["properties"] != nil {
            let properties = (schema["properties"] as? [String: Any] ?? [:]).mapValues { slot($0, schemas: schemas, depth: depth + 1) }
            let others = (schema["additionalProperties"] as? [String: Any]).map { slot($0, schemas: schemas, depth: depth + 1) }
            return Slot(shape: .object(properties: properties, others: others), nullable: nullable)
        }
        return Slot(shape: .scalar, nullable: nullable)
    }
}
