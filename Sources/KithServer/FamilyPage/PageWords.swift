import Foundation
import KithCore
import Mustache

/// The languages the family's page is written in, each a complete message catalogue (`Templates/messages/LANG.json`).
enum PageLanguage: String, CaseIterable, Sendable {
    case en, cy

    /// A person's language as their worker recorded it: Welsh however it was written (`cy`, `Welsh`, `Cymraeg`).
    init?(recorded: String?) {
        guard let recorded = recorded?.trimmingCharacters(in: .whitespaces).lowercased(), !recorded.isEmpty else { return nil }
        if recorded == "cy" || recorded.hasPrefix("cy-") || recorded.hasPrefix("welsh") || recorded.hasPrefix("cymraeg") {
            self = .cy
        } else if recorded == "en" || recorded.hasPrefix("en-") || recorded.hasPrefix("english") {
            self = .en
        } else {
            return nil
        }
    }

    /// The first language of a browser's `Accept-Language` the page speaks.
    init?(acceptLanguage: String?) {
        let wanted = (acceptLanguage ?? "").split(separator: ",").map {
            $0.split(separator: ";")[0].trimmingCharacters(in: .whitespaces).lowercased()
        }
        guard let found = wanted.lazy.compactMap({ PageLanguage(rawValue: String($0.prefix(2))) }).first else { return nil }
        self = found
    }
}

/// The family page's message catalogues, read once when the server starts. Every string the page shows is a message:
/// its templates say `{{#t}}key{{/t}}`, and text made in Swift (dates, roles, notices) is asked for by key here. A
/// message is itself a small template (`{{name}}` is escaped, as anywhere in a template).
struct PageCatalogues: Sendable {
    let messages: [PageLanguage: [String: String]]

    init(folder: URL) throws {
        var messages: [PageLanguage: [String: String]] = [:]
        for language in PageLanguage.allCases {
            let file = folder.appendingPathComponent("messages").appendingPathComponent("\(language.rawValue).json")
            messages[language] = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: file))
        }
        self.messages = messages
    }

    func words(_ language: PageLanguage) -> PageWords {
        PageWords(language: language, messages: messages[language] ?? [:])
    }
}

/// One language's words for one page.
struct PageWords: Sendable {
    let language: PageLanguage
    let messages: [String: String]

    /// The message `key`, its `{{names}}` filled from `values`. A key no catalogue has shows as itself (the catalogue
    /// test holds every key the server asks for to be in every catalogue).
    func callAsFunction(_ key: String, _ values: [String: Any] = [:]) -> String {
        guard let message = messages[key] else { return key }
        guard message.contains("{{") else { return message }
        return (try? MustacheTemplate(string: message).render(values)) ?? message
    }

    /// `{{#t}}key{{/t}}` in a template: the message, rendered in the template's own context.
    var lambda: MustacheLambda {
        let messages = messages
        return MustacheLambda { key in messages[key.trimmingCharacters(in: .whitespacesAndNewlines)] ?? key }
    }

    /// What a template needs to speak this language: `t`, the `<html lang>`, and the link to the other language.
    var view: [String: Any] {
        ["t": lambda, "lang": self("html.lang"), "otherLanguage": self("language.other"), "switchLanguage": self("language.switch")]
    }

    /// "3 March 2026", "3 Mawrth 2026": a day as this language writes it (UTC days, as Kith records them).
    func date(_ date: Date) -> String {
        day(CalendarDay(dayNumber: Int((date.timeIntervalSince1970 / 86_400).rounded(.down))))
    }

    func day(_ day: CalendarDay) -> String {
        self("date", ["day": day.day, "month": self("month.\(day.month)"), "year": day.year])
    }

    func day(_ text: String) -> String { CalendarDay(text).map { day($0) } ?? text }

    func minutes(_ count: Int) -> String { count == 1 ? self("minutes.one") : self("minutes.other", ["count": count]) }
}
