import ArgumentParser
import Foundation
import KithAPI
import KithClient

struct Families: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Your caseload on this machine: children in focus, your time with each family, days since last contact.")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let rows = try workspace.caseload.rows()
            if listing.json { return try Terminal.json(rows) }
            guard !rows.isEmpty else {
                return Terminal.print("No families on this machine yet. Run `kith sync` (families come with your allocations).")
            }
            var table = Table([
                .init("REF"), .init("FAMILY", flexible: true), .init("CHILDREN IN FOCUS", flexible: true),
                .init("WITH YOU", rightAligned: true), .init("LAST CONTACT", rightAligned: true),
            ])
            for row in rows {
                let unsent = row.unsynced > 0 ? " (\(row.unsynced) unsent)" : ""
                table.add([
                    row.reference ?? Caseload.shortId(row.id), row.name + unsent, row.childrenInFocus.joined(separator: ", "),
                    Format.days(row.myTenureDays), row.daysSinceLastContact.map { $0 == 0 ? "today" : "\(Format.days($0)) ago" } ?? "none",
                ])
            }
            Terminal.table(table)
        }
    }
}

struct FamilyOverview: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "family",
        abstract: "One family: its network, current plan, allocation history and recent timeline.",
        discussion: "REF is the family's reference, the start of its id, or a piece of its name that only it matches.")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Argument(help: "The family.") var ref: String

    struct Output: Encodable {
        let family: Caseload.Family
        let people: [Caseload.Person]
        let plan: Caseload.FamilyPlan?
        let allocations: [Caseload.Allocation]
        /// The newest handover note written about the family: what the incoming worker reads first.
        let handover: Caseload.Allocation?
        let recent: [TimelineEntry]
    }

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let caseload = workspace.caseload
            let family = try caseload.family(ref)
            let output = Output(
                family: family, people: try caseload.people(of: family.id), plan: try caseload.currentPlan(of: family.id),
                allocations: try caseload.allocations(of: family.id), handover: try caseload.latestHandover(of: family.id), recent: Array(try caseload.timeline(of: family.id).prefix(8)))
            if listing.json { return try Terminal.json(output) }

            let style = Terminal.style
            Terminal.print(style.bold(family.displayName) + (family.reference.map { " (\($0))" } ?? "")
                + " — \(family.status.rawValue) since \(family.closedOn ?? family.openedOn)")
            if let reason = family.reasonForInvolvement { Terminal.print(reason) }

            Terminal.print("\n" + style.bold("Network"))
            var network = Table([.init("NAME", flexible: true), .init("RELATIONSHIP", flexible: true), .init("PHONE"), .init("ID")])
            for person in output.people {
                network.add([
                    person.name + (person.isChildInFocus ? " (child in focus)" : ""), person.relationshipToChild ?? "",
                    person.contact.phone ?? "", Caseload.shortId(person.id),
                ])
            }
            Terminal.print(output.people.isEmpty ? "  nobody recorded yet (`kith person add \(ref) NAME`)" : network.render(width: Terminal.width, style: style))

            Terminal.print("\n" + style.bold("Plan"))
            if let plan = output.plan {
                PlanView.print(plan, caseload: caseload)
            } else {
                Terminal.print("  no family plan yet")
            }

            Terminal.print("\n" + style.bold("Allocations"))
            var allocations = Table([.init("WORKER", flexible: true), .init("ROLE"), .init("FROM"), .init("TO"), .init("HANDOVER", flexible: true)])
            for allocation in output.allocations {
                allocations.add([
                    caseload.worker(allocation.workerId), Caseload.describe(allocation.role), allocation.startedOn, allocation.endedOn ?? "now",
                    allocation.handoverNote.map(Caseload.firstLine) ?? (allocation.endedOn == nil ? "" : "no note"),
                ])
            }
            Terminal.print(allocations.render(width: Terminal.width, style: style))

            if let handover = output.handover {
                let writer = handover.handoverWrittenBy ?? handover.workerId
                Terminal.print("\n" + style.bold("Handover note") + " from \(caseload.worker(handover.workerId))"
                    + (writer == handover.workerId ? "" : ", written by \(caseload.worker(writer))")
                    + (handover.handoverWrittenAt.map { " on \(Format.when($0))" } ?? ""))
                Terminal.print("  " + (handover.handoverNote ?? "").replacingOccurrences(of: "\n", with: "\n  "))
            }

            Terminal.print("\n" + style.bold("Recent"))
            TimelineView.print(output.recent, caseload: caseload)
        }
    }
}

struct Timeline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A family's history, newest first: contacts, notes, allocations and handovers, conference and plan events.")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Argument(help: "The family.") var ref: String
    @Option(name: .shortAndLong, help: "At most this many entries.") var limit: Int = 50

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let family = try workspace.caseload.family(ref)
            let entries = Array(try workspace.caseload.timeline(of: family.id).prefix(max(limit, 0)))
            if listing.json { return try Terminal.json(entries) }
            Terminal.print(Terminal.style.bold(family.displayName))
            TimelineView.print(entries, caseload: workspace.caseload)
        }
    }
}

enum TimelineView {
    static func print(_ entries: [TimelineEntry], caseload: Caseload) {
        guard !entries.isEmpty else { return Terminal.print("  nothing recorded yet") }
        var table = Table([.init("WHEN"), .init("WHAT", flexible: true), .init("BY", flexible: true), .init("ID")])
        for entry in entries {
            let summary = entry.unsynced ? Terminal.style.yellow("[not synced] ") + entry.summary : entry.summary
            table.add([Format.when(entry.at), summary, entry.by ?? "", Caseload.shortId(entry.id)])
        }
        Terminal.table(table)
    }
}

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A judgment note with every revision: who wrote it, when, and why it was amended.")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Argument(help: "The note (the start of its id, as `kith timeline` shows it).") var note: String

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let note = try workspace.caseload.note(note)
            if listing.json { return try Terminal.json(note) }
            let style = Terminal.style
            let family = try workspace.caseload.family(note.familyId)
            Terminal.print(style.bold("Note \(Caseload.shortId(note.id))") + " — \(family.displayName), \(note.audience.rawValue)"
                + (note.writtenWithFamily ? ", written with the family" : "")
                + (note.concurrent ? style.yellow(" — two amendments were made to the same revision") : ""))
            for revision in note.revisions.sorted(by: { $0.number < $1.number }) {
                var heading = "Revision \(revision.number) — \(Format.when(revision.createdAt)) by \(workspace.caseload.worker(revision.authorId))"
                if let reason = revision.reason { heading += " — \(reason)" }
                if revision.concurrent { heading += style.yellow(" (concurrent)") }
                Terminal.print("\n" + style.bold(heading) + (revision.id == note.current.id ? " [current]" : ""))
                Terminal.print(revision.body)
            }
        }
    }
}

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "A family's current plan, and progress on its items.",
        subcommands: [PlanShow.self, PlanNew.self, PlanUpdate.self], defaultSubcommand: PlanShow.self)
}

struct PlanShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "The current plan and each item's progress.")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Argument(help: "The family.") var ref: String

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let family = try workspace.caseload.family(ref)
            let plan = try workspace.caseload.currentPlan(of: family.id)
            if listing.json { return try Terminal.json(plan) }
            guard let plan else { return Terminal.print("\(family.displayName) has no family plan yet.") }
            Terminal.print(Terminal.style.bold(family.displayName))
            PlanView.print(plan, caseload: workspace.caseload)
        }
    }
}

enum PlanView {
    static func print(_ plan: Caseload.FamilyPlan, caseload: Caseload) {
        var line = "Version \(plan.version), agreed \(Format.when(plan.createdAt))"
        if let review = plan.reviewOn { line += "; review on \(review)" }
        Terminal.print(line)
        let people = Dictionary((try? caseload.people(of: plan.familyId))?.map { ($0.id, $0.name) } ?? [], uniquingKeysWith: { first, _ in first })
        var table = Table([.init("ITEM"), .init("WHO", flexible: true), .init("WHAT", flexible: true), .init("BY"), .init("STATUS"), .init("LATEST", flexible: true)])
        for item in plan.items {
            let who = item.whoKind == .person ? people[item.who] ?? Caseload.shortId(item.who) : caseload.worker(item.who)
            let latest = item.updates.max { $0.createdAt < $1.createdAt }.map(\.text) ?? ""
            table.add([Caseload.shortId(item.id), who, item.what, item.byWhen ?? "", item.status.rawValue, latest])
        }
        Terminal.table(table)
        if let contingency = plan.contingency { Terminal.print("If the plan does not hold: \(contingency)") }
    }
}
