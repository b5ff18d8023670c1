/// What a search of notes asks, read once from what was typed, the same way on the server (PostgreSQL full-text search,
/// `kith_search_query`) and on a device offline (SQLite FTS5): every word must be there; words in double quotes are a
/// phrase; a word or quoted phrase after `-` must not be there; the last word, when nothing follows it, is still being
/// typed and matches as a prefix ("scho" finds "school").
///
/// Only letters and digits make words (anything else separates them), so no text typed is ever read as either
/// database's own query syntax, and any text is accepted.
public struct SearchQuery: Sendable, Equatable {
    public var words: [String] = []
    /// Quoted phrases of two words or more (a quoted single word is a word).
    public var phrases: [[String]] = []
    /// Words and phrases to leave out.
    public var excluded: [[String]] = []
    public var prefix: String?

    public static let maxLength = 500
    public static let maxTerms = 32

    public enum Problem: Error, Equatable, CustomStringConvertible {
        case length, nothingToFind, tooManyTerms

        public var description: String {
            switch self {
            case .length: "must be 1 to \(SearchQuery.maxLength) characters"
            case .nothingToFind: "has no word to look for (letters or digits, not only words to leave out)"
            case .tooManyTerms: "may hold at most \(SearchQuery.maxTerms) words"
            }
        }
    }

    public init(words: [String] = [], phrases: [[String]] = [], excluded: [[String]] = [], prefix: String? = nil) {
        (self.words, self.phrases, self.excluded, self.prefix) = (words, phrases, excluded, prefix)
    }

    public init(parsing text: String) throws(Problem) {
        guard (1...Self.maxLength).contains(text.count) else { throw .length }
        var rest = Substring(text)
        while let start = rest.firstIndex(where: { !$0.isWhitespace }) {
            rest = rest[start...]
            let leaveOut = rest.first == "-"
            if leaveOut { rest = rest.dropFirst() }
            let words: [String]
            var quoted = false
            if rest.first == "\"" {
                let inside = rest.dropFirst()
                let close = inside.firstIndex(of: "\"") ?? inside.endIndex
                words = Self.words(in: inside[..<close])
                rest = close < inside.endIndex ? inside[inside.index(after: close)...] : inside[close...]
                quoted = true
            } else {
                let end = rest.firstIndex(where: \.isWhitespace) ?? rest.endIndex
                words = Self.words(in: rest[..<end])
                rest = rest[end...]
            }
            guard !words.isEmpty else { continue }
            if leaveOut {
                excluded.append(words)
            } else if quoted && words.count > 1 {
                phrases.append(words)
            } else {
                self.words += words
                // Still being typed: the query's last word, unquoted, with nothing after it.
                if !quoted && rest.isEmpty && !(text.last?.isWhitespace ?? true) { prefix = self.words.removeLast() }
            }
        }
        guard !words.isEmpty || !phrases.isEmpty || prefix != nil else { throw .nothingToFind }
        let terms = words.count + phrases.joined().count + excluded.joined().count + (prefix == nil ? 0 : 1)
        guard terms <= Self.maxTerms else { throw .tooManyTerms }
    }

    /// Every term that must be there, each a phrase of one word or more (the prefix last, unless `prefix: false`).
    public func required(prefix includingPrefix: Bool = true) -> [[String]] {
        words.map { [$0] } + phrases + (includingPrefix ? prefix.map { [[$0]] } ?? [] : [])
    }

    private static func words(in text: Substring) -> [String] {
        text.split(whereSeparator: { !($0.isLetter || $0.isNumber) }).map(String.init)
    }
}
