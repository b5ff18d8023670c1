import Foundation

/// The opaque `after` cursor of a paginated list: the sort key of the last item a client saw.
///
/// It only positions a page; every query still applies the caller's access rules, so a forged cursor
/// can skip or repeat items the caller may see anyway, never reveal others.
public struct PageCursor: Sendable, Equatable {
    public var keys: [String]

    public init(_ keys: [String]) { self.keys = keys }

    public var encoded: String {
        let data = try! JSONEncoder().encode(keys)
        return data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Nil for anything that is not a cursor this server made with `count` keys.
    public init?(encoded: String, count: Int) {
        var base64 = encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64),
              let keys = try? JSONDecoder().decode([String].self, from: data),
              keys.count == count
        else { return nil }
        self.keys = keys
    }
}
