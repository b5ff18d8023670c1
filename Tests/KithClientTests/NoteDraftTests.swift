import KithClient
import Testing

@Suite struct NoteDraftTests {
    @Test func theTemplateListsEverySectionAsACommentedHeading() {
        let template = NoteDraft(text: "").template(about: "Home visit with the Morgan family.")
        for section in NoteDraft.Section.allCases { #expect(template.contains("# \(section.heading):\n")) }
        // Saved untouched, the template is an empty note (which records the visit alone).
        #expect(NoteDraft(editedTemplate: template).isEmpty)
    }

    @Test func textUnderHeadingsBecomesSectionsAndTheBodyKeepsEverything() {
        var edited = NoteDraft(text: "").template(about: "context")
        edited = "Short visit.\n" + edited
        edited = edited.replacingOccurrences(of: "# What I saw:\n", with: "# What I saw:\nTheo showed me his room.\n# a stray comment\n\n")
        edited = edited.replacingOccurrences(of: "# Next steps:\n", with: "# Next steps:\nVisit on Friday.\n")
        let draft = NoteDraft(editedTemplate: edited)
        #expect(draft.text == "Short visit.")
        #expect(draft.sections == [.observed: "Theo showed me his room.", .nextSteps: "Visit on Friday."])
        #expect(draft.body == "Short visit.\n\nWhat I saw:\nTheo showed me his room.\n\nNext steps:\nVisit on Friday.")
    }

    @Test func anAmendmentStartsFromTheStoredRevisionAndReadsBackTheSame() {
        let stored = NoteDraft(text: "Short visit.", sections: [.analysis: "Things are calmer.", .familyWords: "\"We're OK.\""])
        let reopened = NoteDraft(stored.apiSections, body: stored.body)
        #expect(reopened == stored)
        #expect(NoteDraft(editedTemplate: reopened.template(about: "amending")) == stored)
    }

    @Test func aNoteWithoutSectionsIsItsText() {
        let plain = NoteDraft(.init(), body: "Phoned school.\nAttendance better.")
        #expect(plain == NoteDraft(text: "Phoned school.\nAttendance better."))
        #expect(plain.body == "Phoned school.\nAttendance better.")
    }
}

@Suite struct TableTests {
    @Test func wideRowsFitEightyColumnsByShorteningTheFlexibleColumns() {
        var table = Table([.init("REF"), .init("FAMILY", flexible: true), .init("CHILDREN", flexible: true), .init("DAYS", rightAligned: true)])
        table.add(["FGC-00013", String(repeating: "The Morgan-Fitzgerald-Okonkwo family ", count: 3), "Theo, Amy, Grace and Sam", "848"])
        table.add(["FGC-2", "The Ahmed family", "Zara", "3"])
        let lines = table.render(width: 80, style: Style(enabled: false)).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.allSatisfy { $0.count <= 80 })
        #expect(lines[1].contains("…") && lines[1].hasPrefix("FGC-00013") && lines[1].hasSuffix("848"))
        #expect(lines[2].contains("The Ahmed family") && lines[2].hasSuffix("  3"))
    }

    @Test func colourOnlyOnATerminalAndNeverWithNoColor() {
        #expect(Style.forOutput(isTerminal: true, environment: [:]).enabled)
        #expect(!Style.forOutput(isTerminal: false, environment: [:]).enabled)
        #expect(!Style.forOutput(isTerminal: true, environment: ["NO_COLOR": "1"]).enabled)
        #expect(!Style.forOutput(isTerminal: true, environment: ["TERM": "dumb"]).enabled)
        #expect(Style(enabled: false).bold("x") == "x")
        #expect(Style(enabled: true).bold("x") == "\u{1B}[1mx\u{1B}[0m")
    }
}
