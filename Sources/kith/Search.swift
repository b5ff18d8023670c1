import ArgumentParser
import Foundation
import KithAPI
import KithClient
import KithCore

struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Notes you may read that hold these words: on the server when online, on this machine offline.",
        discussion: """
            Every word must be there ("visits" also finds "visited"); "words in quotes" are a phrase; -word or
            -"a phrase" leaves notes out; the last word may be the start of one ("scho" finds "school"). Online it
            searches every note you may read now, best first; offline (or with --local) the notes on this machine,
            newest first. Each search is in the audit trail with its length and what it found, never its words.

            Examples: kith search "school move"
                      kith search '"new partner" -Dad' --family FGC-7
            """)

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Argument(help: "What to look for.") var words: String
    @Option(help: "Only this family's notes.") var family: String?
    @Flag(help: "Search only the notes on this machine, without asking the server.") var local = false
    @Option(name: .shortAndLong, help: "At most this many notes.") var limit: Int = 20

    func run() async throws {
        try await reporting {
            let asked: SearchQuery
            do { asked = try SearchQuery(parsing: words) } catch { throw CommandError.usage("what to look for \(error)") }
            let workspace = try common.open()
            let caseload = workspace.caseload, count = min(max(limit, 1), 200)
            var online: [Components.Schemas.NoteSearchHit]?
            if !local && !Workspace.holdsWrites {
                do {
                    online = try await workspace.office { office in
                        var familyId: String?
                        if let family { familyId = try await office.family(family, caseload: caseload).id }
                        return try await office.searchNotes(words, familyId: familyId, limit: count)
                    }
                } catch CommandError.unreachable {}
            }
            let offline = online == nil
            let hits = try online ?? caseload.searchNotes(asked, familyId: try family.map { try caseload.family($0).id }, limit: count)
            if listing.json { return try Terminal.json(hits) }
            if offline { Terminal.note("Searched the notes on this machine (offline), newest first.") }
            guard !hits.isEmpty else { return Terminal.print("No notes you may read hold that.") }
            // A heading line a note, then its words wrapped beneath: a snippet is the point, so no column cuts it short.
            let style = Terminal.style
            for hit in hits {
                Terminal.print(style.bold("\(Format.when(hit.at))  \(hit.reference ?? Caseload.shortId(hit.familyId))  \(hit.displayName)")
                    + " — \(caseload.worker(hit.authorId)), note \(Caseload.shortId(hit.noteId))")
                for line in Self.lines(hit.snippet, width: max(40, Terminal.width - 4)) {
                    Terminal.print("    " + Self.marking(line, style: style))
                }
            }
        }
    }

    /// The snippet's words in lines of at most `width` characters.
    static func lines(_ text: String, width: Int) -> [String] {
        var lines: [String] = [], line = ""
        for word in text.split(whereSeparator: \.isWhitespace) {
            if !line.isEmpty && line.count + 1 + word.count > width { lines.append(line); line = "" }
            line += (line.isEmpty ? "" : " ") + word
        }
        return line.isEmpty ? lines : lines + [line]
    }

    /// `**word**` in bold where the terminal shows bold; as it is elsewhere (a pipe, `NO_COLOR`).
    static func marking(_ line: String, style: Style) -> String {
        guard style.enabled else { return line }
        let parts = line.components(separatedBy: "**")
        return parts.enumerated().map { $0.offset % 2 == 1 ? style.bold($0.element) : $0.element }.joined()
    }
}

struct Find: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Is this family known? Families of your organisation by name, reference or a person's name (online).",
        discussion: """
            A misspelt name finds the family; a date of birth (yyyy-mm-dd) among the words keeps families with someone
            born that day. It tells only each family's reference and name and whether you work with it: to read a
            family that is not yours, open it with `kith access REF --reason "…"`.

            Example: kith find "Okafur 2019-03-04"
            """)

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Argument(help: "A name (at least three letters), perhaps with a date of birth.") var name: String

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let found = try await workspace.office { try await $0.findFamilies(name) }
            if listing.json { return try Terminal.json(found) }
            guard !found.isEmpty else { return Terminal.print("No family of your organisation is known by that.") }
            var table = Table([.init("REF"), .init("FAMILY", flexible: true), .init("YOU")])
            for family in found {
                let you = family.relationship ? "work with it" : family.breakGlassOpen ? "break-glass open" : "no relationship"
                table.add([family.reference ?? Caseload.shortId(family.familyId), family.displayName, you])
            }
            Terminal.table(table)
        }
    }
}
