import ArgumentParser
import Foundation
import KithAPI
import KithClient

extension Components.Schemas.AllocationRole: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument {
        case "worker", "allocatedWorker": self = .allocatedWorker
        case "coordinator": self = .coordinator
        case "support", "familySupport": self = .familySupport
        default: return nil
        }
    }

    public static var allValueStrings: [String] { ["worker", "coordinator", "support"] }
}

/// A day option: `--on yesterday`, `--on 2026-11-28`; today when absent.
struct DayArgument: ExpressibleByArgument {
    let text: String

    init?(argument: String) {
        guard let date = When.parse(argument) else { return nil }
        text = When.dayText(date)
    }

    static var today: String { When.dayText(Date()) }
}

struct Handover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the handover note for whoever takes the family on (editor, or -m; offline, sent at the next sync).",
        discussion: """
            The note goes on your own current allocation to the family. Writing it again adds a version: the earlier ones
            are kept. The incoming worker is told ("handover to read" in `kith review`) and reads it in `kith family`.
            Name the visit you made together with --joint-visit (the contact's id from `kith timeline`).

            Example: kith handover FGC-7 -m "Amy opens up in the car, not at home. Nan does the Friday school run."
            """)

    @OptionGroup var common: Common
    @Argument(help: "The family.") var ref: String
    @Option(name: .shortAndLong, help: "The note's text, instead of opening the editor.") var message: String?
    @Option(help: ArgumentHelp("The joint handover visit: the start of the contact's id, from `kith timeline`.", valueName: "contact"))
    var jointVisit: String?

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let caseload = workspace.caseload
            let family = try caseload.family(ref)
            guard let allocation = try caseload.myAllocation(of: family.id) else {
                throw CommandError.usage(
                    "you hold no current allocation to \(family.displayName), so there is no handover of yours to write "
                        + "(a supervisor adds one with `kith reallocate \(ref) --to WORKER --reason TEXT --handover TEXT`)")
            }
            var contactId: String?
            if let jointVisit {
                let matches = try caseload.contacts(of: family.id).filter { $0.id.hasPrefix(jointVisit.lowercased()) }
                guard matches.count == 1 else {
                    throw CommandError.usage("'\(jointVisit)' matches \(matches.count) of the family's contacts (ids are in `kith timeline`)")
                }
                contactId = matches[0].id
            }
            let text: String
            if let message {
                text = message.trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                let template = """
                    \(allocation.handoverNote ?? "")

                    # Handover for \(family.displayName), for whoever takes the family on.
                    # What they need to know: who matters to the child, what works and what does not, what to watch,
                    # what was promised. Lines starting with '#' are left out; an empty note saves nothing.
                    """
                text = NoteDraft(editedTemplate: try Terminal.edit(template, in: workspace.profile.directory)).body
            }
            guard !text.isEmpty else { return Terminal.note("Empty handover: nothing saved.") }
            try workspace.practice.writeHandover(text, on: allocation, jointVisitContactId: contactId)
            try await workspace.sendIfOnline("Handover note saved for \(family.displayName)")
        }
    }
}

struct OpenFamily: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open", abstract: "Open a new family (a referral that is new to Kith); you become its worker or coordinator (online).",
        discussion: """
            Add the family's network afterwards with `kith person add REF NAME` (offline).

            Example: kith open "The Okoro family" --reference FGC-20 --reason "Referred by the school: attendance"
            """)

    @OptionGroup var common: Common
    @Argument(help: "The family's name as the family would put it.") var name: String
    @Option(help: "The family's reference in your organisation.") var reference: String?
    @Option(help: "Why Kith is involved.") var reason: String?
    @Option(help: "The team (a piece of its name); needed when you are in more than one.") var team: String?

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let chosen = try Office.team(team, from: workspace.session.me.teams)
            let body = Components.Schemas.CreateFamily(teamId: chosen.id, displayName: name, reference: reference, reasonForInvolvement: reason)
            let family: Components.Schemas.Family = try await workspace.office { try await $0.openFamily(body) }
            try workspace.store.keep([try .init(.family, id: family.id, familyId: family.id, family)])
            Terminal.note("Opened \(family.displayName)\(family.reference.map { " (\($0))" } ?? "") in \(chosen.name).")
            try await workspace.sync()
        }
    }
}

struct Allocate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Supervisors: allocate a worker to a family (online).",
        discussion: """
            WORKER is a name, an email or the start of an id. A new allocated worker is given the family's latest handover
            note to read.

            Example: kith allocate FGC-7 chris --role coordinator
            """)

    @OptionGroup var common: Common
    @Argument(help: "The family.") var ref: String
    @Argument(help: "The worker.") var worker: String
    @Option(help: "worker (the default), coordinator or support.") var role: Components.Schemas.AllocationRole = .allocatedWorker
    @Option(help: ArgumentHelp("The first day (default today).", valueName: "day")) var from: DayArgument?

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let caseload = workspace.caseload, day = from?.text ?? DayArgument.today
            let (family, chosen, allocation): (Components.Schemas.Family, Components.Schemas.Worker, Components.Schemas.Allocation) =
                try await workspace.office { office in
                    let family = try await office.family(ref, caseload: caseload)
                    let chosen = try await office.worker(worker)
                    return (family, chosen, try await office.allocate(family, to: chosen, role: role, on: day))
                }
            Terminal.note("\(chosen.name) allocated to \(family.displayName) as \(Caseload.describe(role)) from \(allocation.startedOn).")
            try await workspace.sync()
        }
    }
}

struct Reallocate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Supervisors: end the family's current allocation and start another, in one step (online).",
        discussion: """
            The outgoing worker's own handover note stays; --handover adds yours as a newer version. The incoming worker
            has the latest to read.

            Example: kith reallocate FGC-7 --to tom --reason "Priya moves to the South team"
            """)

    @OptionGroup var common: Common
    @Argument(help: "The family.") var ref: String
    @Option(help: "The incoming worker.") var to: String
    @Option(help: "Why the family changes worker (required; the family's record keeps it).") var reason: String
    @Option(help: "worker (the default), coordinator or support.") var role: Components.Schemas.AllocationRole = .allocatedWorker
    @Option(help: "A handover note of your own, added as a newer version.") var handover: String?

    func run() async throws {
        try await reporting {
            guard !reason.allSatisfy(\.isWhitespace) else { throw CommandError.usage("--reason needs a reason") }
            let workspace = try common.open()
            let caseload = workspace.caseload
            let (family, worker, moved): (Components.Schemas.Family, Components.Schemas.Worker, Components.Schemas.Reallocation) =
                try await workspace.office { office in
                    let family = try await office.family(ref, caseload: caseload)
                    let worker = try await office.worker(to)
                    return (family, worker, try await office.reallocate(
                        family, to: worker, role: role, reason: reason, handoverNote: handover))
                }
            let outgoing = workspace.caseload.worker(moved.ended.workerId)
            let note = moved.ended.handoverNote == nil
                ? Terminal.style.yellow(" No handover note was written: ask \(outgoing) for one (`kith handover`).")
                : " \(worker.name) has the handover note to read."
            Terminal.note("\(family.displayName): \(outgoing)'s allocation ended; \(worker.name) holds it from \(moved.started.startedOn).\(note)")
            try await workspace.sync()
        }
    }
}

struct SupervisionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervision", abstract: "Supervision sessions with a worker: record one, or list them (online).",
        subcommands: [SupervisionRecord.self, SupervisionList.self], defaultSubcommand: SupervisionList.self)
}

struct SupervisionRecord: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record", abstract: "Record a supervision session with a worker (editor, or -m).",
        discussion: """
            Reflective notes are read by the worker and the supervisors of their teams only; each family discussed is
            audited.

            Example: kith supervision record priya --family FGC-7 --family FGC-9 -m "Talked through Amy's school move."
            """)

    @OptionGroup var common: Common
    @Argument(help: "The worker supervised.") var worker: String
    @Option(name: .customLong("family"), help: ArgumentHelp("A family discussed (repeatable).", valueName: "ref")) var families: [String] = []
    @Option(help: ArgumentHelp("The day it was held (default today).", valueName: "day")) var on: DayArgument?
    @Option(name: .shortAndLong, help: "The notes, instead of opening the editor.") var message: String?

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let notes: String
            if let message {
                notes = message.trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                let template = """


                    # Supervision with \(worker). What was reflected on, decided, and for whom.
                    # Lines starting with '#' are left out; empty notes save nothing.
                    """
                notes = NoteDraft(editedTemplate: try Terminal.edit(template, in: workspace.profile.directory)).body
            }
            guard !notes.isEmpty else { return Terminal.note("Empty notes: nothing saved.") }
            let caseload = workspace.caseload, day = on?.text ?? DayArgument.today
            let (session, supervisee): (Components.Schemas.SupervisionSession, Components.Schemas.Worker) =
                try await workspace.office { office in
                    let supervisee = try await office.worker(worker)
                    var chosen: [Components.Schemas.Family] = []
                    for ref in families { chosen.append(try await office.family(ref, caseload: caseload)) }
                    return (try await office.recordSupervision(with: supervisee, on: day, families: chosen, notes: notes), supervisee)
                }
            Terminal.note("Supervision with \(supervisee.name) on \(session.heldOn) recorded (\(session.familyIds.count) families discussed).")
        }
    }
}

struct SupervisionList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "A worker's supervision sessions, newest first (yours by default).",
        discussion: "Example: kith supervision list priya")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Argument(help: "The worker (default: me).") var worker: String = "me"

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let caseload = workspace.caseload
            let (sessions, families): ([Components.Schemas.SupervisionSession], [Components.Schemas.Family]) =
                try await workspace.office { office in
                    let supervisee = try await office.worker(worker)
                    let families = try await office.teamFamilies() + caseload.families()
                    return (try await office.supervisionSessions(of: supervisee), families)
                }
            if listing.json { return try Terminal.json(sessions) }
            guard !sessions.isEmpty else { return Terminal.print("No supervision sessions recorded.") }
            let names = Dictionary(families.map { ($0.id, $0.displayName) }, uniquingKeysWith: { first, _ in first })
            for session in sessions.sorted(by: { $0.heldOn > $1.heldOn }) {
                let discussed = session.familyIds.map { names[$0] ?? Caseload.shortId($0) }.joined(separator: ", ")
                Terminal.print(Terminal.style.bold("\(session.heldOn)  with \(workspace.caseload.worker(session.workerId)), "
                    + "by \(workspace.caseload.worker(session.supervisorId))") + (discussed.isEmpty ? "" : " — \(discussed)"))
                Terminal.print("  " + session.notes.replacingOccurrences(of: "\n", with: "\n  "))
            }
        }
    }
}

struct Signals: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A team's signal thresholds; supervisors change them with --set (online).",
        discussion: """
            Signals prompt a supervision conversation; they are never targets and block nothing.

            Example: kith signals --set noContactDays=21 --set childNotSeenDays=35
            """)

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Option(help: "The team (a piece of its name); needed when you are in more than one.") var team: String?
    @Option(help: ArgumentHelp("A new threshold (repeatable): noContactDays, childNotSeenDays, planReviewOverdueDays, workerChanges365.",
                               valueName: "name=days")) var set: [String] = []

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let team = try Office.team(team, from: workspace.session.me.teams)
            let changes = set
            let settings: Components.Schemas.SignalSettings = try await workspace.office { office in
                changes.isEmpty ? try await office.signalSettings(of: team) : try await office.setSignals(changes, of: team)
            }
            if listing.json { return try Terminal.json(settings) }
            Terminal.print(Terminal.style.bold(team.name) + (set.isEmpty ? " — signal thresholds" : " — thresholds saved"))
            var table = Table([.init("SIGNAL", flexible: true), .init("NAME"), .init("THRESHOLD", rightAligned: true)])
            table.add(["No contact for more than", "noContactDays", "\(settings.noContactDays) days"])
            table.add(["Child not seen for more than", "childNotSeenDays", "\(settings.childNotSeenDays) days"])
            table.add(["Plan review passed by more than", "planReviewOverdueDays", "\(settings.planReviewOverdueDays) days"])
            table.add(["Allocated workers in a year, at least", "workerChanges365", "\(settings.workerChanges365)"])
            Terminal.table(table)
        }
    }
}

struct DeviceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device", abstract: "Devices that sync: list yours (and your team's, for supervisors), or revoke one (online).",
        subcommands: [DeviceList.self, DeviceRevoke.self], defaultSubcommand: DeviceList.self)
}

struct DeviceList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Devices you may see, with their last sync.")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let devices: [Components.Schemas.Device] = try await workspace.office { try await $0.devices() }
            if listing.json { return try Terminal.json(devices) }
            var table = Table([.init("DEVICE", flexible: true), .init("WORKER", flexible: true), .init("LAST SYNC"), .init("ID")])
            for device in devices {
                table.add([
                    device.name + (device.id == workspace.session.deviceId ? " (this one)" : ""), workspace.caseload.worker(device.workerId),
                    device.lastSyncedAt.map(Format.when) ?? "never", Caseload.shortId(device.id),
                ])
            }
            Terminal.table(table)
        }
    }
}

struct DeviceRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a lost or stolen device: it can sync no more, and what it pushes is kept for review.",
        discussion: "Example: kith device revoke 3f2a9c1e")

    @OptionGroup var common: Common
    @Argument(help: "The device: the start of its id or a piece of its name (`kith device list`).") var device: String

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let ref = device
            let revoked: Components.Schemas.Device = try await workspace.office { try await $0.revokeDevice(ref) }
            Terminal.note("Revoked \(revoked.name) (\(workspace.caseload.worker(revoked.workerId))): it can no longer sync.")
        }
    }
}
