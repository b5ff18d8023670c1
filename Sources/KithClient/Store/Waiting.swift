import Foundation
import KithAPI

extension LocalStore {
    /// What waits to be sent, as a person would say it ("2 visits and 1 note"); nil when nothing waits.
    package func waitingDescription() throws -> String? {
        let waiting = try waiting()
        guard !waiting.isEmpty else { return nil }
        var counts: [(word: String, count: Int)] = []
        for item in waiting {
            let word = Self.word(for: item.type)
            if let index = counts.firstIndex(where: { $0.word == word }) { counts[index].count += 1 } else { counts.append((word, 1)) }
        }
        let phrases = counts.map { $0.count == 1 ? "1 \($0.word)" : "\($0.count) \(Self.plural($0.word))" }
        return phrases.count == 1 ? phrases[0] : phrases.dropLast().joined(separator: ", ") + " and " + phrases.last!
    }

    /// A mutation type in the worker's words.
    package static func word(for type: String) -> String { DeviceMutation.Kind(rawValue: type)?.word ?? "change" }

    static func plural(_ word: String) -> String {
        switch word {
        case "new person": "new people"
        case "change to a person": "changes to people"
        case "what got in the way": "things that got in the way"
        default: word + "s"
        }
    }
}
