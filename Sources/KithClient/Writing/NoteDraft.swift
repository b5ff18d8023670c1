import Foundation
import KithAPI

/// A judgment note as the worker wrote it: free text and the optional sections of product.md.
package struct NoteDraft: Sendable, Equatable {
    package var text: String
    package var sections: [Section: String]

    package init(text: String, sections: [Section: String] = [:]) {
        self.text = text
        self.sections = sections
    }

    package enum Section: String, CaseIterable, Sendable {
        case observed, analysis, decision, familyWords, nextSteps

        package var heading: String {
            switch self {
            case .observed: "What I saw"
            case .analysis: "What I think it means"
            case .decision: "What I decided and why"
            case .familyWords: "The family's words"
            case .nextSteps: "Next steps"
            }
        }
    }

    package var isEmpty: Bool { text.isEmpty && sections.isEmpty }

    /// The whole note as one text (headings included), which every client can show.
    package var body: String {
        ([text] + Section.allCases.compactMap { section in sections[section].map { "\(section.heading):\n\($0)" } })
            .filter { !$0.isEmpty }.joined(separator: "\n\n")
    }

    package var apiSections: Components.Schemas.NoteSections {
        .init(
            observed: sections[.observed], analysis: sections[.analysis], decision: sections[.decision],
            familyWords: sections[.familyWords], nextSteps: sections[.nextSteps])
    }

    package init(_ sections: Components.Schemas.NoteSections, body: String) {
        var parts: [Section: String] = [:]
        parts[.observed] = sections.observed
        parts[.analysis] = sections.analysis
        parts[.decision] = sections.decision
        parts[.familyWords] = sections.familyWords
        parts[.nextSteps] = sections.nextSteps
        self.init(text: parts.isEmpty ? body : Self.freeText(of: body), sections: parts)
    }

    /// The part of a stored body before its first section heading.
    private static func freeText(of body: String) -> String {
        let headings = Section.allCases.map { "\($0.heading):" }
        var lines: [Substring] = []
        for line in body.split(separator: "\n", omittingEmptySubsequences: false) {
            if headings.contains(String(line)) { break }
            lines.append(line)
        }
        return lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: The editor template

    /// What the editor opens with: the draft's text, then each section under its heading as a `#` line, the way
    /// `git commit` shows its instructions. Lines starting with `#` are ignored when the note is read back.
    package func template(about context: String) -> String {
        var lines: [String] = []
        lines.append(text)
        for section in Section.allCases {
            lines.append("")
            lines.append("# \(section.heading):")
            if let value = sections[section] { lines.append(value) }
        }
        lines.append("")
        lines.append("# \(context)")
        lines.append("# Write above, or under any of the headings; every section is optional. Lines starting")
        lines.append("# with '#' are left out. An empty note saves nothing (a visit is still recorded).")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads an edited template back.
    package init(editedTemplate: String) {
        var text: [Substring] = []
        var sections: [Section: [Substring]] = [:]
        var current: Section?
        for line in editedTemplate.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("#") {
                let heading = line.dropFirst().trimmingCharacters(in: .whitespaces)
                if let section = Section.allCases.first(where: { "\($0.heading):" == heading }) { current = section }
                continue
            }
            if let current { sections[current, default: []].append(line) } else { text.append(line) }
        }
        func tidy(_ lines: [Substring]) -> String { lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines) }
        self.init(text: tidy(text), sections: sections.mapValues(tidy).filter { !$0.value.isEmpty })
    }
}
