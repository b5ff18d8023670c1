import ArgumentParser
import Foundation
import KithAPI
import KithClient

extension Components.Schemas.FrictionKind: ExpressibleByArgument {}
extension Components.Schemas.DidItAnyway: ExpressibleByArgument {}
extension Components.Schemas.FrictionStatus: ExpressibleByArgument {}

struct Blocked: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Say what got in the way of doing the reasonable thing (works offline); --list: what you said and the answers.",
        discussion: """
            One line, no form: what stopped you, and if you like what kind of thing it was, what it cost you and whether
            you did it anyway. Naming a family (--family) makes it part of that family's record. Your team's supervisors
            see it and answer; `kith blocked --list` shows their answers. After the server refuses you something,
            `kith blocked --last "what I was trying to do"` sends the refusal with it.

            Example: kith blocked "Couldn't book an interpreter for Saturday's conference: procurement needs 10 days" --kind rule --cost "2 hours"
            """)

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Argument(help: "What got in the way, in your words.") var text: String?
    @Option(help: "The family it was about (its reference or name).") var family: String?
    @Option(help: "What kind of thing: rule, system, resource, time or other.") var kind: Components.Schemas.FrictionKind?
    @Option(help: ArgumentHelp("What it cost you.", valueName: "\"2 hours\"")) var cost: String?
    @Option(help: "Whether you did it anyway: yes, no or partly.") var didItAnyway: Components.Schemas.DidItAnyway?
    @Flag(help: "Attach the last refusal the server gave you in this terminal.") var last = false
    @Flag(help: "What you have said got in the way, and what was done about it (online).") var list = false

    func validate() throws {
        if list, text != nil { throw ValidationError("--list takes no text") }
        if !list, text?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ?? true {
            throw ValidationError("say what got in the way, in quotes: kith blocked \"...\"")
        }
    }

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            if list { return try await showMine(workspace) }
            let problem = last ? try LastRefusal.read() : nil
            if last, problem == nil { throw CommandError.usage("no refusal is kept from this terminal to attach (--last)") }
            let familyId = try family.map { try workspace.caseload.family($0).id }
            try workspace.practice.tell(.init(
                text: text!.trimmingCharacters(in: .whitespacesAndNewlines), familyId: familyId, kind: kind, cost: cost,
                didItAnyway: didItAnyway, problem: problem))
            if last { try LastRefusal.forget() }
            try await workspace.sendIfOnline("What got in the way is saved")
        }
    }

    private func showMine(_ workspace: Workspace) async throws {
        let frictions = try await workspace.office { try await $0.myFrictions() }
        if listing.json { return try Terminal.json(frictions) }
        if frictions.isEmpty { Terminal.print("You have not said anything got in the way yet (`kith blocked \"...\"`).") }
        for friction in frictions { Frictions.show(friction, workspace) }
        if let waiting = try workspace.store.waitingDescription() { Terminal.note("Not yet sent: \(waiting) (`kith sync`).") }
    }
}

struct Frictions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Supervisors: what got in the way in your team, answered; the organisation's counts.",
        subcommands: [FrictionsList.self, FrictionsAnswer.self, FrictionsSummary.self], defaultSubcommand: FrictionsList.self)

    /// A friction as the terminal shows it: when, who, what it was, its status and id, the words, then each answer.
    static func show(_ friction: Components.Schemas.Friction, _ workspace: Workspace) {
        let about = [friction.kind?.rawValue, friction.cost, friction.didItAnyway.map { "did it anyway: \($0.rawValue)" }]
            .compactMap { $0 }.joined(separator: ", ")
        let who = friction.filedBy.map { workspace.caseload.worker($0) } ?? "a family, on their page"
        Terminal.print(Terminal.style.bold("\(Format.when(friction.createdAt))  \(who)  \(status(friction.status))")
            + (about.isEmpty ? "" : "  (\(about))") + "  \(Caseload.shortId(friction.id))")
        Terminal.print("  \(friction.text)")
        for event in friction.events {
            Terminal.print("  → \(Format.when(event.at)) \(workspace.caseload.worker(event.by)) \(status(.init(rawValue: event.kind.rawValue)!))"
                + (event.text.map { ": \($0)" } ?? ""))
        }
    }

    /// A status in words.
    static func status(_ status: Components.Schemas.FrictionStatus) -> String {
        switch status {
        case .open: "not answered yet"
        case .acknowledged: "acknowledged"
        case .changed: "changed"
        case .escalated: "escalated"
        case .wontChange: "won't change"
        }
    }
}

struct FrictionsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Your team's frictions, newest first.", discussion: "Example: kith frictions --status open")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Option(help: "Which of your teams (when you are in more than one).") var team: String?
    @Option(help: "Only those whose latest answer is this: open, acknowledged, changed, escalated or wontChange.")
    var status: Components.Schemas.FrictionStatus?

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let chosen = try Office.team(team, from: workspace.session.me.teams)
            let frictions = try await workspace.office { try await $0.teamFrictions(chosen.id, status: status) }
            if listing.json { return try Terminal.json(frictions) }
            guard !frictions.isEmpty else { return Terminal.print("Nothing got in the way in \(chosen.name)\(status == nil ? "" : " with that status").") }
            for friction in frictions { Frictions.show(friction, workspace) }
            Terminal.print("\nAnswer one: kith frictions answer ID acknowledged | changed | escalated | wontChange -m \"what you did\"")
        }
    }
}

struct FrictionsAnswer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "answer", abstract: "Acknowledge a friction, or say what you did about it; its teller sees your words.",
        discussion: "Example: kith frictions answer 3f2a changed -m \"Procurement agreed a standing interpreter order\"")

    @OptionGroup var common: Common
    @Argument(help: "The friction, by the start of its id.") var id: String
    @Argument(help: "acknowledged, changed, escalated or wontChange.") var kind: Components.Schemas.FrictionEventKind
    @Option(name: .shortAndLong, help: "What you did (needed for all but acknowledged).") var message: String?
    @Option(help: "Which of your teams (when you are in more than one).") var team: String?

    func validate() throws {
        if kind != .acknowledged, message?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ?? true {
            throw ValidationError("say what you did, with -m \"...\" (only acknowledged stands alone)")
        }
    }

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let chosen = try Office.team(team, from: workspace.session.me.teams)
            let friction = try await workspace.office { try await $0.answer(id, in: chosen.id, .init(kind: kind, text: message)) }
            Terminal.print("Answered: \(Frictions.status(friction.status)). \(friction.filedBy.map { workspace.caseload.worker($0) } ?? "The family") will see it.")
        }
    }
}

extension Components.Schemas.FrictionEventKind: ExpressibleByArgument {}

struct FrictionsSummary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary", abstract: "The organisation's frictions counted, by kind and team, and the rules and systems named most.")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Option(help: "From this day (YYYY-MM-DD; 90 days ago by default).") var from: String?
    @Option(help: "To this day (today by default).") var to: String?

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let summary = try await workspace.office { try await $0.frictionSummary(from: from, to: to) }
            if listing.json { return try Terminal.json(summary) }
            Terminal.print(Terminal.style.bold("\(summary.total) told from \(summary.from) to \(summary.to)")
                + ", \(summary.fellOnFamily) of them by families on their page")
            Terminal.print("By kind: " + summary.byKind.map { "\($0.kind?.rawValue ?? "unsaid") \($0.count)" }.joined(separator: ", "))
            Terminal.print("By team: " + summary.byTeam.map { "\($0.name ?? "no team") \($0.count)" }.joined(separator: ", "))
            let done = summary.didItAnyway
            Terminal.print("Did it anyway: yes \(done.yes), partly \(done.partly), no \(done.no), unsaid \(done.unsaid)")
            if !summary.namedMost.isEmpty {
                Terminal.print("Named most: " + summary.namedMost.map { "\($0.word) (\($0.kind.rawValue), \($0.frictions))" }.joined(separator: ", "))
            }
        }
    }
}
