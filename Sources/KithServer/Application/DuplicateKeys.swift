import Foundation
import NIOCore

/// Finds the first object key a JSON text names twice in one object. Foundation's decoder silently keeps one of the
/// two values, so a body such as `{"audience": "family", "audience": "restricted"}` would mean whatever the decoder
/// chose; Kith refuses it instead (400), before anything reads it. Keys are compared as decoded (`"a"` and `"\u0061"`
/// are one key). Malformed JSON is left for the decoder to refuse.
enum DuplicateKeys {
    static func first(in bytes: ByteBuffer) -> String? {
        var scanner = Scanner(bytes: bytes.readableBytesView)
        return scanner.run()
    }

    private struct Scanner {
        let bytes: ByteBufferView
        var index: ByteBufferView.Index
        /// One entry per open container: the keys of an object (nil for an array), and whether a key comes next.
        var open: [(keys: Set<String>?, expectsKey: Bool)] = []

        init(bytes: ByteBufferView) {
            self.bytes = bytes
            self.index = bytes.startIndex
        }

        mutating func run() -> String? {
            while index < bytes.endIndex {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "{"): open.append((keys: [], expectsKey: true))
                case UInt8(ascii: "["): open.append((keys: nil, expectsKey: false))
                case UInt8(ascii: "}"), UInt8(ascii: "]"): if !open.isEmpty { open.removeLast() }
                case UInt8(ascii: ","): if let last = open.indices.last, open[last].keys != nil { open[last].expectsKey = true }
                case UInt8(ascii: "\""):
                    guard let text = string() else { return nil }
                    if let last = open.indices.last, open[last].expectsKey, var keys = open[last].keys {
                        if keys.contains(text) { return text }
                        keys.insert(text)
                        open[last] = (keys: keys, expectsKey: false)
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
