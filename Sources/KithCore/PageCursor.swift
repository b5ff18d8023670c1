import Foundation

/// The encoding of a paginated list's opaque `after` cursor: the sort keys of the last item a client saw. The server
/// signs what it hands out (`ListCursor`), so a cursor it reads is one it made for that caller and that list.
public struct PageCursor: Sendable, Equatable {
    public var keys: [String]

    public init(_ keys: [String]) { self.keys = keys }

    public var encoded: String {
        try! JSONEncoder().encode(keys).base64URL
    }

    /// Nil for anything that is not a cursor this server made with `count` keys.
    public init?(encoded: String, count: Int) {
        guard let data = Data(base64URL: Substring(encoded)),
              let keys = try? JSONDecoder().decode([String].self, from: data),
              keys.count == count
        else { return nil }
        self.keys = keys
    }
}
