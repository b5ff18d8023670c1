import Foundation
import HTTPTypes
import KithCore
import Testing
@testable import KithServer

/// The family's page in Welsh and English (issue #29): every string it shows is a message of every catalogue, and the
/// page speaks the person's language, with a link to the other.
@Suite struct FamilyPageLanguageTests {
    static let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/KithServer/FamilyPage/Templates")
    /// The family's page and its parts; the workers' own pages served beside it (a password reset, a device's sign-in, a
    /// subject access disclosure) are written in English.
    static let familyTemplates = ["head", "foot", "language", "code", "family", "verdict", "notice"]

    /// What in a template is not a message: text outside tags and `{{…}}`, and the messages it asks for.
    static func read(_ template: String) -> (keys: Set<String>, stray: [String]) {
        var keys = Set<String>()
        var text = template
        while let open = text.range(of: "{{#t}}"), let close = text.range(of: "{{/t}}", range: open.upperBound..<text.endIndex) {
            keys.insert(text[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces))
            text.replaceSubrange(open.lowerBound..<close.upperBound, with: " ")
        }
        let bare = text.replacing(/\{\{[^}]*\}\}/, with: " ").replacing(/<[^>]*>/, with: " ")
        let stray = bare.split(whereSeparator: \.isWhitespace).map(String.init).filter { $0.contains(where: \.isLetter) }
        return (keys, stray)
    }

    static func catalogues() throws -> [PageLanguage: [String: String]] {
        try PageCatalogues(folder: templates).messages
    }

    @Test func aTemplateWithTextOfItsOwnIsCaught() {
        let read = Self.read("<p>{{#t}}code.intro{{/t}} Hello {{name}}</p><input value=\"words in a tag\">")
        #expect(read.keys == ["code.intro"] && read.stray == ["Hello"])
    }

    @Test func everyStringOfThePageIsAMessageOfEveryCatalogue() throws {
        let catalogues = try Self.catalogues()
        let english = try #require(catalogues[.en])
        for (language, messages) in catalogues {
            #expect(Set(messages.keys) == Set(english.keys), "\(language): keys differ from English")
            #expect(!messages.values.contains { $0.trimmingCharacters(in: .whitespaces).isEmpty }, "\(language): an empty message")
        }
        for name in Self.familyTemplates {
            let template = try String(contentsOf: Self.templates.appendingPathComponent("\(name).mustache"), encoding: .utf8)
            let (keys, stray) = Self.read(template)
            #expect(stray.isEmpty, "\(name).mustache has text that is not a message: \(stray)")
            for language in PageLanguage.allCases {
                #expect(keys.subtracting(catalogues[language]!.keys).isEmpty, "\(name).mustache asks \(language) for \(keys.subtracting(catalogues[language]!.keys))")
            }
        }
        // The keys the server makes itself: each refusal, and the words it puts together for the page.
        var made = FamilyPageRefusal.all.flatMap { ["refusal.\($0.key).title", "refusal.\($0.key).message"] }
        made += ["allocatedWorker", "coordinator", "familySupport"].map { "role.\($0)" }
        made += ["observed", "analysis", "decision", "familyWords", "nextSteps"].map { "section.\($0)" }
        made += ["done", "dropped", "you"].map { "progress.\($0)" }
        made += ["conference", "review", "workerChange"].map { "verdict.after.\($0)" }
        made += FamilyVerdict.columns.map { "verdict.\($0.0.rawValue)" } + FamilyVerdict.scale.map { "scale.\($0)" }
        made += (1...12).map { "month.\($0)" } + ["date", "minutes.one", "minutes.other", "html.lang", "language.other", "language.switch"]
        let sources = Self.templates.deletingLastPathComponent()
        for file in try FileManager.default.contentsOfDirectory(atPath: sources.path) where file.hasSuffix(".swift") {
            let swift = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            made += swift.matches(of: /words\("([a-z][a-z.\-]+)"/).map { String($0.1) }
        }
        for language in PageLanguage.allCases {
            #expect(Set(made).subtracting(catalogues[language]!.keys).isEmpty, "\(language) lacks \(Set(made).subtracting(catalogues[language]!.keys))")
        }
    }

    @Test func aWelshSpeakersPageIsInWelshWithALinkToEnglish() throws {
        let words = PageWords(language: .cy, messages: try Self.catalogues()[.cy]!)
        #expect(words.day(CalendarDay("2026-12-07")!) == "7 Rhagfyr 2026")
        #expect(words.minutes(1) == "1 munud" && words.minutes(5) == "5 munud")
        #expect(PageLanguage(recorded: "Welsh") == .cy && PageLanguage(recorded: "cy-GB") == .cy && PageLanguage(recorded: "Polish") == nil)
        #expect(PageLanguage(acceptLanguage: "fr-FR, cy;q=0.8, en;q=0.5") == .cy)
    }

    @Test func thePageFollowsThePersonsLanguageAndTheSwitch() async throws {
        try await Kith.run { kith in
            let story = try await FamilyPageTests.story(kith)
            // Before sign-in the browser's language, or the switch; the switch is kept in a cookie.
            var browser = Browser(kith: kith)
            let english = String(buffer: try await browser.get(story.path).body)
            #expect(english.contains("<html lang=\"en-GB\">") && english.contains("Open the page") && english.contains(">Cymraeg</a>"))
            let switched = try await browser.get(story.path + "?lang=cy")
            #expect(String(buffer: switched.body).contains("<html lang=\"cy\">") && String(buffer: switched.body).contains("Agor y dudalen"))
            #expect(switched.headers[values: .setCookie].contains { $0.hasPrefix("kith_language=cy;") })

            // Signed in, the language recorded for Margaret: Welsh, dates and all, with the verdict's questions.
            try await kith.db.query(
                "UPDATE people SET language = 'Welsh' WHERE id = \(UUID(uuidString: story.margaretId)!)", logger: TestDatabase.logger)
            _ = try await kith.json(
                .post, "/v1/conferences/\(story.conferenceId)/meetings", as: .priya, ["kind": "review", "heldOn": CalendarDayText.today],
                expect: .created)
            try await browser.signIn(story)
            let welsh = String(buffer: try await browser.get("/family").body)
            #expect(welsh.contains("<html lang=\"cy\">") && welsh.contains("Cynllun eich teulu") && welsh.contains(">English</a>"))
            #expect(welsh.contains("Oeddech chi'n teimlo bod rhywun yn gwrando arnoch chi?") || welsh.contains("Oeddech chi&#39;n teimlo"))
            let month = ["Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin", "Gorffennaf", "Awst", "Medi", "Hydref", "Tachwedd",
                         "Rhagfyr"][CalendarDay(CalendarDayText.today)!.month - 1]
            #expect(welsh.contains(month))
            // The switch wins over what was recorded.
            let back = String(buffer: try await browser.get("/family?lang=en").body)
            #expect(back.contains("<html lang=\"en-GB\">") && (back.contains("Your family's plan") || back.contains("Your family&#39;s plan")))
        }
    }
}
