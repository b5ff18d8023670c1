import ArgumentParser
import Foundation
import KithAPI
import KithClient

struct Access: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open a family you have no relationship with, for a reason (break-glass; online).",
        discussion: """
            For when you must act for a family that is not yours (out of hours, a colleague off sick). It is never
            refused, and it is not private: your reason is recorded in the family's audit trail and shown to the
            family's supervisors. The access lasts a few hours.

            Example: kith access FGC-7 --reason "Police called out of hours about Amy; duty worker"
            """)

    @OptionGroup var common: Common
    @Argument(help: "The family: its id (or, for your teams' families, its reference).") var ref: String
    @Option(help: "Why you need it (required; the family's supervisors see it).") var reason: String

    func run() async throws {
        try await reporting {
            guard !reason.allSatisfy(\.isWhitespace) else { throw CommandError.usage("--reason needs a reason") }
            let workspace = try common.open()
            let caseload = workspace.caseload
            let (family, grant): (Components.Schemas.Family, Components.Schemas.BreakGlassGrant) = try await workspace.office {
                try await $0.openBreakGlass(ref, caseload: caseload, reason: reason)
            }
            Terminal.note("""
                Access to \(family.displayName) is open until \(Format.when(grant.expiresAt)). This is recorded with your reason \
                in the family's audit trail and shown to the family's supervisors.
                """)
            try await workspace.sync()
        }
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Who read and wrote a family's record, newest first (the allocated worker and supervisors; online).",
        discussion: "Example: kith audit FGC-7 --others --limit 20")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Argument(help: "The family.") var ref: String
    @Option(name: .shortAndLong, help: "At most this many events.") var limit: Int = 50
    @Flag(help: "Who else viewed the family: leave out its allocated workers' own reads.") var others = false

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let caseload = workspace.caseload, count = max(1, limit)
            let (family, events): (Components.Schemas.Family, [Components.Schemas.AuditEvent]) = try await workspace.office { office in
                let family = try await office.family(ref, caseload: caseload)
                return (family, try await office.audit(of: family, limit: count, others: others))
            }
            if listing.json { return try Terminal.json(events) }
            Terminal.print(Terminal.style.bold(family.displayName) + " — audit trail")
            var table = Table([.init("WHEN"), .init("WHO", flexible: true), .init("ACTION"), .init("WHAT", flexible: true)])
            for event in events {
                let who = event.personName.map { "\($0) (family page)" } ?? event.workerName ?? "—"
                let what = (event.entity ?? "") + (event.reason.map { " — \($0)" } ?? "")
                table.add([
                    Format.when(event.at), who,
                    event.breakGlass ? Terminal.style.yellow("\(event.action.rawValue) (break-glass)") : event.action.rawValue, what,
                ])
            }
            Terminal.table(table)
        }
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A family's whole record as JSON on standard output (the allocated worker and supervisors; online; audited).",
        discussion: "Example: kith export FGC-7 > record.json")

    @OptionGroup var common: Common
    @Argument(help: "The family.") var ref: String

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let caseload = workspace.caseload
            let export: Components.Schemas.FamilyExport = try await workspace.office { office in
                try await office.export(try await office.family(ref, caseload: caseload))
            }
            try Terminal.json(export)
        }
    }
}

struct BreakGlass: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "break-glass", abstract: "Supervisors: every break-glass opening of your team's families, with its reason (online).",
        discussion: "Example: kith break-glass --since 2026-11-01")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Option(help: "The team (a piece of its name); needed when you are in more than one.") var team: String?
    @Option(help: ArgumentHelp("Since this day (default 30 days ago).", valueName: "day")) var since: DayArgument?

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let chosen = try Office.team(team, from: workspace.session.me.teams)
            let day = since?.text
            let openings: [Components.Schemas.BreakGlassOpening] = try await workspace.office {
                try await $0.breakGlassOpenings(of: chosen, since: day)
            }
            if listing.json { return try Terminal.json(openings) }
            guard !openings.isEmpty else { return Terminal.print("No break-glass openings in \(chosen.name)\(day.map { " since \($0)" } ?? " in 30 days").") }
            var table = Table([.init("OPENED"), .init("WHO", flexible: true), .init("FAMILY", flexible: true), .init("REASON", flexible: true)])
            for opening in openings {
                table.add([Format.when(opening.openedAt), opening.workerName, opening.familyName, opening.reason])
            }
            Terminal.table(table)
        }
    }
}
