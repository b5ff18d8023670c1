import Foundation
import KithCore

/// What the family's page shows, in the words and shapes its templates use: first names, plain dates, plain roles.
/// Nothing else of the record reaches it (see `FamilyMember.noteAudience`).
struct FamilyPageContent: Sendable {
    let familyName: String
    let personName: String
    let workers: [Worker]
    let letter: Letter?
    let notes: [Note]
    let plan: Plan?
    let messages: [Message]

    struct Worker: Sendable {
        let firstName: String
        let role: String
        let since: String

        init(firstName: String, role: String, since: String) {
            self.firstName = firstName
            self.role = switch role {
            case "allocatedWorker": "your social worker"
            case "coordinator": "your family group conference coordinator"
            default: "your family support worker"
            }
            self.since = FamilyPageContent.plain(day: since)
        }
    }

    struct Letter: Sendable {
        let from: String
        let on: String
        let text: String

        init(from: String, on: String, text: String) {
            self.from = from
            self.on = FamilyPageContent.plain(day: on)
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

        init(id: UUID, author: String, writtenAt: Date, latest: Revision, saidNotRight: Date?) {
            self.id = id.text
            self.author = author
            self.saidNotRight = saidNotRight.map { FamilyPageContent.plain($0) }
            on = FamilyPageContent.plain(latest.number > 1 ? latest.at : writtenAt)
            body = latest.body
            sections = [
                ("What we saw", latest.observed), ("What we think", latest.analysis), ("What we decided", latest.decision),
                ("In your words", latest.familyWords), ("What happens next", latest.nextSteps),
            ].compactMap { heading, text in text.nilIfBlank.map { Section(heading: heading, text: $0) } }
            amended = latest.number > 1
                ? "Changed on \(FamilyPageContent.plain(latest.at))" + (latest.reason.nilIfBlank.map { ": \($0)" } ?? "")
                    + " (first written on \(FamilyPageContent.plain(writtenAt)))"
                : nil
        }
    }

    struct Plan: Sendable {
        let items: [Item]
        let contingency: String?
        let reviewOn: String?

        init(items: [Item], contingency: String?, reviewOn: String?) {
            self.items = items
            self.contingency = contingency.nilIfBlank
            self.reviewOn = reviewOn.map { FamilyPageContent.plain(day: $0) }
        }
    }

    struct Item: Sendable {
        let id: String
        let what: String
        let who: String
        let byWhen: String?
        let progress: [Progress]

        init(id: UUID, what: String, who: String, byWhen: String?, progress: [Progress]) {
            self.id = id.text
            self.what = what
            self.who = who
            self.byWhen = byWhen.map { FamilyPageContent.plain(day: $0) }
            self.progress = progress
        }
    }

    struct Progress: Sendable {
        let text: String
        let status: String?
        let by: String
        let fromFamily: Bool
        let on: String

        init(text: String, status: String?, by: String, fromFamily: Bool, at: Date) {
            self.text = text
            self.status = switch status {
            case "done": "Done"
            case "dropped": "No longer part of the plan"
            default: nil
            }
            self.by = by
            self.fromFamily = fromFamily
            on = FamilyPageContent.plain(at)
        }
    }

    struct Message: Sendable {
        let text: String
        let on: String

        init(text: String, at: Date) {
            self.text = text
            on = FamilyPageContent.plain(at)
        }
    }

    /// People are named by their first name on the page.
    static func firstName(_ name: String) -> String {
        name.split(whereSeparator: \.isWhitespace).first.map(String.init) ?? name
    }

    /// "3 March 2026", in UTC like every day Kith records.
    static func plain(_ date: Date) -> String {
        date.formatted(Date.FormatStyle(date: .long, time: .omitted, locale: Locale(identifier: "en_GB"), timeZone: .gmt))
    }

    static func plain(day: String) -> String {
        CalendarDay(day).map { plain($0.date) } ?? day
    }
}
