import Foundation
import KithCore

/// What the family's page shows, in the words and shapes its templates use: first names, plain dates, plain roles,
/// all in the reader's language (`words`). Nothing else of the record reaches it (see `FamilyMember.noteAudience`).
struct FamilyPageContent: Sendable {
    let words: PageWords
    let familyName: String
    let personName: String
    let workers: [Worker]
    let letter: Letter?
    let notes: [Note]
    let plan: Plan?
    let messages: [Message]
    /// The questions after a meeting or a change of worker, while they wait for this person's answer.
    let verdict: Verdict?

    struct Worker: Sendable {
        let firstName: String
        let role: String
        let since: String

        init(firstName: String, role: String, since: String, _ words: PageWords) {
            self.firstName = firstName
            self.role = words("role.\(role)")
            self.since = words.day(since)
        }
    }

    struct Letter: Sendable {
        let from: String
        let on: String
        let text: String

        init(from: String, on: String, text: String, _ words: PageWords) {
            self.from = from
            self.on = words.day(on)
            self.text = text
        }
    }

    /// A revision of a note as the page reads it from the database.
    struct Revision: Decodable, Sendable {
        let number: Int
        let at: Date
        let reason: String?
        let body: String
        let observed: String?
        let analysis: String?
        let decision: String?
        let familyWords: String?
        let nextSteps: String?
    }

    struct Note: Sendable {
        let id: String
        let author: String
        let on: String
        let body: String
        let sections: [Section]
        /// "Changed on 3 March 2026: …" when the note was amended.
        let amended: String?
        /// When this person last said it is not right, in plain words.
        let saidNotRight: String?

        struct Section: Sendable {
            let heading: String
            let text: String
        }

        init(id: UUID, author: String, writtenAt: Date, latest: Revision, saidNotRight: Date?, _ words: PageWords) {
            self.id = id.text
            self.author = author
            self.saidNotRight = saidNotRight.map { words.date($0) }
            on = words.date(latest.number > 1 ? latest.at : writtenAt)
            body = latest.body
            sections = [
                ("observed", latest.observed), ("analysis", latest.analysis), ("decision", latest.decision),
                ("familyWords", latest.familyWords), ("nextSteps", latest.nextSteps),
            ].compactMap { key, text in text.nilIfBlank.map { Section(heading: words("section.\(key)"), text: $0) } }
            amended = latest.number > 1
                ? words("note.amended", [
                    "changedOn": words.date(latest.at), "reason": latest.reason.nilIfBlank as Any, "writtenOn": words.date(writtenAt),
                ])
                : nil
        }
    }

    struct Plan: Sendable {
        let items: [Item]
        let contingency: String?
        let reviewOn: String?

        init(items: [Item], contingency: String?, reviewOn: String?, _ words: PageWords) {
            self.items = items
            self.contingency = contingency.nilIfBlank
            self.reviewOn = reviewOn.map { words.day($0) }
        }
    }

    struct Item: Sendable {
        let id: String
        let what: String
        let who: String
        let byWhen: String?
        let progress: [Progress]

        init(id: UUID, what: String, who: String, byWhen: String?, progress: [Progress], _ words: PageWords) {
            self.id = id.text
            self.what = what
            self.who = who
            self.byWhen = byWhen.map { words.day($0) }
            self.progress = progress
        }
    }

    struct Progress: Sendable {
        let text: String
        let status: String?
        let by: String
        let fromFamily: Bool
        let on: String

        init(text: String, status: String?, by: String?, fromFamily: Bool, at: Date, _ words: PageWords) {
            self.text = text
            self.status = status.flatMap { ["done", "dropped"].contains($0) ? words("progress.\($0)") : nil }
            self.by = by ?? words("progress.you")
            self.fromFamily = fromFamily
            on = words.date(at)
        }
    }

    struct Message: Sendable {
        let text: String
        let on: String

        init(text: String, at: Date, _ words: PageWords) {
            self.text = text
            on = words.date(at)
        }
    }

    /// The family's verdict asked of this person: after which occasion, and the three questions on their scale.
    struct Verdict: Sendable {
        let occasion: String
        let after: String
        let questions: [Question]

        struct Question: Sendable {
            let question: String
            let answers: [Answer]
        }

        struct Answer: Sendable {
            let name: String
            let value: Int
            let label: String
        }

        init(_ occasion: FamilyVerdict.Occasion, _ words: PageWords) {
            self.occasion = occasion.id.text
            after = words("verdict.after.\(occasion.kind.rawValue)", ["on": words.day(occasion.on)])
            questions = FamilyVerdict.columns.map { question, _ in
                Question(
                    question: words("verdict.\(question.rawValue)"),
                    answers: FamilyVerdict.scale.map { Answer(name: question.rawValue, value: $0, label: words("scale.\($0)")) })
            }
        }
    }

    /// People are named by their first name on the page.
    static func firstName(_ name: String) -> String {
        name.split(whereSeparator: \.isWhitespace).first.map(String.init) ?? name
    }
}
