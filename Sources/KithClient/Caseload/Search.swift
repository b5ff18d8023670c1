import Foundation
import KithAPI
import KithCore

/// Search of the notes this device holds (`LocalStore.searchNotes`), answered in the server's shape so that the
/// terminal shows both alike: newest first (an offline search does not rank), rank 0, the snippet marked as the
/// server marks it.
extension Caseload {
    package func searchNotes(_ asked: SearchQuery, familyId: String?, limit: Int) throws -> [Components.Schemas.NoteSearchHit] {
        let families = Dictionary(try families().map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return try store.searchNotes(asked, family: familyId, limit: limit).map { found in
            let note = try LocalStore.decoder.decode(JudgmentNote.self, from: Data(found.data.utf8))
            return .init(
                noteId: found.noteId, familyId: found.familyId, reference: families[found.familyId]?.reference,
                displayName: families[found.familyId]?.displayName ?? Self.shortId(found.familyId),
                at: note.clockSuspect == true ? note.createdAt : note.deviceRecordedAt ?? note.createdAt,
                authorId: note.authorId, audience: note.audience, snippet: Snippet.marking(asked, in: found.text), rank: 0)
        }
    }
}

/// A few words of a note around the first that matches, every matching word between `**` and `**`, as the server's
/// snippets are. A word matches a term it begins with once an English ending is taken off the term ("visits" marks
/// "visited"): near enough to show where, since which notes match is the index's to say.
package enum Snippet {
    static let before = 8, after = 22

    package static func marking(_ asked: SearchQuery, in text: String) -> String {
        let stems = (asked.required(prefix: false).joined().map(stem) + (asked.prefix.map { [$0.lowercased()] } ?? []))
        let words = text.split(whereSeparator: \.isWhitespace)
        func matches(_ word: Substring) -> Bool {
            let letters = word.lowercased().filter { $0.isLetter || $0.isNumber }
            return !letters.isEmpty && stems.contains { letters.hasPrefix($0) }
        }
        let first = words.firstIndex(where: matches) ?? 0
        let window = max(0, first - before)..<min(words.count, first + after)
        let shown = words[window].map { matches($0) ? marked($0) : String($0) }.joined(separator: " ")
        return (window.lowerBound > 0 ? "… " : "") + shown + (window.upperBound < words.count ? " …" : "")
    }

    /// The word's letters and digits marked, its punctuation left outside ("**club**.").
    private static func marked(_ word: Substring) -> String {
        guard let first = word.firstIndex(where: { $0.isLetter || $0.isNumber }),
              let last = word.lastIndex(where: { $0.isLetter || $0.isNumber })
        else { return String(word) }
        return "\(word[..<first])**\(word[first...last])**\(word[word.index(after: last)...])"
    }

    private static func stem(_ term: String) -> String {
        let word = term.lowercased()
        for ending in ["ing", "ed", "es", "s"] where word.hasSuffix(ending) && word.count - ending.count >= 3 {
            return String(word.dropLast(ending.count))
        }
        return word
    }
}
