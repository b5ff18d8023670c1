import ArgumentParser
import Foundation
import KithAPI
import KithClient

extension Components.Schemas.ContactKind: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument {
        case "home", "homeVisit": self = .homeVisit
        case "phone": self = .phone
        case "video": self = .video
        case "school": self = .school
        case "office": self = .office
        case "conference": self = .conference
        case "other": self = .other
        default: return nil
        }
    }

    public static var allValueStrings: [String] { ["home", "phone", "video", "school", "office", "conference", "other"] }
}

/// A time option: `--at "today 14:30"`.
struct WhenArgument: ExpressibleByArgument {
    let date: Date

    init?(argument: String) {
        guard let date = When.parse(argument) else { return nil }
        self.date = date
    }
}

/// The note's text: `-m TEXT`, or the editor on the template.
struct NoteText: ParsableArguments {
    @Option(name: .shortAndLong, help: "The note's text, instead of opening the editor.") var message: String?

    func draft(_ workspace: Workspace, about context: String, starting: NoteDraft = NoteDraft(text: "")) throws -> NoteDraft {
        if let message { return NoteDraft(text: message.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return NoteDraft(editedTemplate: try Terminal.edit(starting.template(about: context), in: workspace.profile.directory))
    }
}

struct Visit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record a contact with a family, with a judgment note written in your editor (or -m).",
        discussion: """
            Unless -m is given, $VISUAL or $EDITOR opens on a template with the optional sections (what I saw, what I think
            it means, what I decided and why, the family's words, next steps) as '#' headings, as `git commit` does.
            An empty note records the contact alone. --at takes "today 14:30", "yesterday", "friday 10:00",
            "2026-11-28 09:30" or an ISO time; the default is now. --with names who was there besides you: people in
            the family's network, and colleagues (a joint visit, which counts for continuity); --other "NAME, ROLE"
            someone else who was there (an interpreter, the school nurse). --child NAME=seen|alone|not-seen says it
            for one child in focus (repeatable); --child-seen says a child was seen.

            Example: kith visit FGC-7 --with tom jade --child jade=alone --child tom=not-seen --at "today 09:30"
            """)

    @OptionGroup var common: Common
    @Argument(help: "The family.") var ref: String
    @Option(help: ArgumentHelp(
        "When it happened: now (the default), 'today 14:30', 14:30, yesterday, 'friday 10:00', '2026-11-28 09:30' or ISO 8601.",
        valueName: "when")) var at: WhenArgument?
    @Option(help: "How: home, phone, video, school, office, conference or other.") var kind: Components.Schemas.ContactKind = .homeVisit
    @Option(name: .customLong("with"), parsing: .upToNextOption, help: ArgumentHelp(
        "Who was there besides you: people in the family's network or colleagues (a joint visit), by name.", valueName: "name"))
    var with: [String] = []
    @Option(name: .customLong("other"), help: ArgumentHelp(
        "Someone else there who is neither a colleague nor in the network (repeatable).", valueName: "name, role"))
    var others: [String] = []
    @Flag(help: "The child in focus was seen.") var childSeen = false
    @Flag(help: "The child in focus was seen alone (implies --child-seen).") var seenAlone = false
    @Option(name: .customLong("child"), help: ArgumentHelp(
        "One child in focus: seen, seen alone or not seen (repeatable).", valueName: "name=seen|alone|not-seen"))
    var children: [String] = []
    @OptionGroup var text: NoteText

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let family = try workspace.caseload.family(ref)
            var visit = Practice.Visit(at: at?.date ?? Date(), kind: kind)
            for name in with {
                switch try workspace.caseload.present(name, in: family.id) {
                case .person(let id): visit.presentPersonIds.append(id)
                case .worker(let id): visit.presentWorkerIds.append(id)
                }
            }
            visit.othersPresent = try others.map(Practice.Visit.other)
            visit.child(seen: childSeen, alone: seenAlone)
            visit.childrenSeen = try children.map { try ChildArgument.read($0, in: family.id, workspace.caseload) }
            let context = "\(Caseload.describe(kind)) with \(family.displayName), \(Format.when(visit.at))."
            let draft = try text.draft(workspace, about: context)
            let (_, note) = try workspace.practice.recordVisit(visit, in: family, note: draft)
            try await workspace.sendIfOnline("\(Caseload.describe(kind)) recorded\(note == nil ? "" : " with a note") for \(family.displayName)")
        }
    }
}

/// `--child jade=alone`: what a visit says of one child in focus.
enum ChildArgument {
    static func read(_ text: String, in familyId: String, _ caseload: Caseload) throws -> Components.Schemas.ChildSeen {
        let parts = text.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        let said: (seen: Bool, alone: Bool)? = switch parts.count == 2 ? parts[1] : "" {
        case "seen": (true, false)
        case "alone": (true, true)
        case "not-seen": (false, false)
        default: nil
        }
        guard let said else { throw CommandError.usage("'\(text)' is not NAME=seen, NAME=alone or NAME=not-seen") }
        let child = try caseload.person(parts[0], in: familyId)
        guard child.isChildInFocus else { throw CommandError.usage("\(child.name) is not a child in focus of this family") }
        return .init(personId: child.id, seen: said.seen, seenAlone: said.alone)
    }
}

/// `yes` or `no`, for a correction that says a value either way.
enum YesNo: String, ExpressibleByArgument {
    case yes, no
    var value: Bool { self == .yes }
}

struct ContactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contact",
        abstract: "Correct a contact recorded wrongly, or withdraw one recorded on the wrong family (works offline).",
        discussion: """
            A correction is kept beside the contact with your reason, never written over it: the timeline and the
            continuity measures use the corrected values, and the values as recorded stay in its history. The contact
            is named by the start of its id, as `kith timeline` shows it.

            Example: kith contact correct 3f2a --child-seen no --reason "Jade was at school; I saw Tom only"
            """,
        subcommands: [ContactCorrect.self, ContactWithdraw.self])
}

struct ContactCorrect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "correct", abstract: "Correct what a contact recorded: when, how, how long, who was there, whether the child was seen.")

    @OptionGroup var common: Common
    @Argument(help: "The contact.") var contact: String
    @Option(help: ArgumentHelp("When it happened.", valueName: "when")) var at: WhenArgument?
    @Option(help: "How: home, phone, video, school, office, conference or other.") var kind: Components.Schemas.ContactKind?
    @Option(help: "How long, in minutes.") var duration: Int?
    @Option(help: "Whether a child in focus was seen: yes or no.") var childSeen: YesNo?
    @Option(help: "Whether the child was seen alone: yes or no.") var seenAlone: YesNo?
    @Option(name: .customLong("with"), parsing: .upToNextOption, help: ArgumentHelp(
        "Who from the family's network was there, all of them (replaces the list).", valueName: "name"))
    var with: [String] = []
    @Option(name: .customLong("child"), help: ArgumentHelp(
        "One child in focus: seen, seen alone or not seen (repeatable; replaces what was said per child).",
        valueName: "name=seen|alone|not-seen"))
    var children: [String] = []
    @Option(help: "Why it is corrected (required).") var reason: String

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw CommandError.usage("--reason needs a reason") }
            let contact = try workspace.caseload.contact(contact)
            let correction = Components.Schemas.CorrectContact(
                occurredAt: at?.date, kind: kind, childSeen: childSeen?.value, childSeenAlone: seenAlone?.value, durationMinutes: duration,
                presentPersonIds: with.isEmpty ? nil : try with.map { try workspace.caseload.person($0, in: contact.familyId).id },
                childrenSeen: children.isEmpty ? nil : try children.map { try ChildArgument.read($0, in: contact.familyId, workspace.caseload) },
                reason: reason)
            guard correction.occurredAt != nil || kind != nil || duration != nil || childSeen != nil || seenAlone != nil
                    || correction.presentPersonIds != nil || correction.childrenSeen != nil
            else { throw CommandError.usage("say what to correct: --at, --kind, --duration, --child-seen, --seen-alone, --with or --child") }
            try workspace.practice.correct(contact, correction)
            try await workspace.sendIfOnline("Contact \(Caseload.shortId(contact.id)) corrected")
        }
    }
}

struct ContactWithdraw: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "withdraw",
        abstract: "Withdraw a contact recorded on the wrong family: it leaves the family's views and measures, and stays in its history.")

    @OptionGroup var common: Common
    @Argument(help: "The contact.") var contact: String
    @Option(help: "Why it is withdrawn (required).") var reason: String

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw CommandError.usage("--reason needs a reason") }
            let contact = try workspace.caseload.contact(contact)
            try workspace.practice.withdraw(contact, reason: reason)
            try await workspace.sendIfOnline("Contact \(Caseload.shortId(contact.id)) withdrawn")
        }
    }
}

struct Note: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a judgment note about a family (editor, or -m); withdraw or refile one filed in error, or change who may read it.",
        subcommands: [NoteWrite.self, NoteWithdraw.self, NoteRefile.self, NoteAudience.self], defaultSubcommand: NoteWrite.self)
}

struct NoteWrite: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write", abstract: "Write a judgment note about a family (editor, or -m); `kith note FAMILY` says the same.")

    @OptionGroup var common: Common
    @Argument(help: "The family.") var ref: String
    @Option(help: "Who may read it: professional, family or restricted.") var audience: Components.Schemas.Audience = .professional
    @Flag(help: "Written with the family.") var withFamily = false
    @OptionGroup var text: NoteText

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let family = try workspace.caseload.family(ref)
            let draft = try text.draft(workspace, about: "A note about \(family.displayName).")
            guard !draft.isEmpty else { return Terminal.note("Empty note: nothing saved.") }
            try workspace.practice.writeNote(draft, in: family, audience: audience, writtenWithFamily: withFamily)
            try await workspace.sendIfOnline("Note saved for \(family.displayName)")
        }
    }
}

struct NoteWithdraw: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "withdraw",
        abstract: "Withdraw a note filed in error (yours, or as the family's supervisor): it leaves every view of the family, and stays in its history.")

    @OptionGroup var common: Common
    @Argument(help: "The note.") var note: String
    @Option(help: "Why it is withdrawn (required).") var reason: String

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw CommandError.usage("--reason needs a reason") }
            let note = try workspace.caseload.note(note)
            try workspace.practice.withdraw(note, reason: reason)
            try await workspace.sendIfOnline("Note \(Caseload.shortId(note.id)) withdrawn")
        }
    }
}

struct NoteRefile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refile",
        abstract: "Refile a note written on the wrong family on the right one: it leaves the wrong family's views, and comes with its revisions.")

    @OptionGroup var common: Common
    @Argument(help: "The note.") var note: String
    @Argument(help: "The family it belongs to.") var family: String
    @Option(help: "Why it is refiled (required).") var reason: String

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw CommandError.usage("--reason needs a reason") }
            let note = try workspace.caseload.note(note)
            let family = try workspace.caseload.family(family)
            guard family.id != note.familyId else { throw CommandError.usage("the note is filed on \(family.displayName) already") }
            try workspace.practice.refile(note, to: family, reason: reason)
            try await workspace.sendIfOnline("Note \(Caseload.shortId(note.id)) refiled on \(family.displayName)")
        }
    }
}

struct NoteAudience: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audience", abstract: "Change who may read a note (professional, family or restricted): at once, with your reason kept.")

    @OptionGroup var common: Common
    @Argument(help: "The note.") var note: String
    @Argument(help: "professional, family or restricted.") var audience: Components.Schemas.Audience
    @Option(help: "Why (required).") var reason: String

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw CommandError.usage("--reason needs a reason") }
            let note = try workspace.caseload.note(note)
            guard note.audience != audience else { throw CommandError.usage("the note's audience is \(audience.rawValue) already") }
            try workspace.practice.changeAudience(of: note, to: audience, reason: reason)
            try await workspace.sendIfOnline("Note \(Caseload.shortId(note.id)) is \(audience.rawValue) now")
        }
    }
}

extension Components.Schemas.Audience: ExpressibleByArgument {}
extension Components.Schemas.PlanItemStatus: ExpressibleByArgument {}

struct Amend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Amend a note: a new revision with your reason; the earlier text is kept and shown by `kith show`.")

    @OptionGroup var common: Common
    @Argument(help: "The note.") var note: String
    @Option(help: "Why it is amended (required).") var reason: String
    @OptionGroup var text: NoteText

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw CommandError.usage("--reason needs a reason") }
            let note = try workspace.caseload.note(note)
            let current = NoteDraft(note.current.sections, body: note.current.body)
            let draft = try text.draft(workspace, about: "Amending note \(Caseload.shortId(note.id)) (\(reason)).", starting: current)
            guard !draft.isEmpty else { return Terminal.note("Empty text: nothing saved (to retract a note, say so in its text).") }
            guard draft != current else { return Terminal.note("Text unchanged: nothing saved.") }
            try workspace.practice.amend(note, with: draft, reason: reason)
            try await workspace.sendIfOnline("Amendment saved")
        }
    }
}

struct PersonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "person", abstract: "Add someone to a family's network, or change their details.",
        subcommands: [PersonAdd.self, PersonSet.self])
}

struct PersonAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add someone to a family's network.")

    @OptionGroup var common: Common
    @Argument(help: "The family.") var ref: String
    @Argument(help: "Their name.") var name: String
    @Option(help: "Their relationship to the child (e.g. grandmother).") var relationship: String?
    @Flag(help: "They are a child in focus.") var childInFocus = false
    @Option(help: "Date of birth, YYYY-MM-DD.") var born: String?
    @Option(help: "Phone number.") var phone: String?

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let family = try workspace.caseload.family(ref)
            var person = Practice.NewPerson(name: name)
            person.relationshipToChild = relationship
            person.isChildInFocus = childInFocus
            person.dateOfBirth = born
            person.phone = phone
            try workspace.practice.addPerson(person, to: family)
            try await workspace.sendIfOnline("\(name) added to \(family.displayName)")
        }
    }
}

struct PersonSet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Change someone's details; an edit made meanwhile elsewhere becomes a conflict to resolve, never an overwrite.")

    @OptionGroup var common: Common
    @Argument(help: "The person (a name, or the start of their id).") var person: String
    @Option var phone: String?
    @Option var email: String?
    @Option var address: String?
    @Option var language: String?
    @Option(help: "Their relationship to the child.") var relationship: String?

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let person = try workspace.caseload.person(person)
            var fields: [String: String?] = [:]
            for (field, value) in [("phone", phone), ("email", email), ("address", address), ("language", language), ("relationshipToChild", relationship)] {
                if let value { fields[field] = value.isEmpty ? nil : value }
            }
            guard !fields.isEmpty else { throw CommandError.usage("say what to change, e.g. --phone \"07700 900123\" (an empty value clears it)") }
            try workspace.practice.setFields(fields, of: person)
            try await workspace.sendIfOnline("\(person.name) updated")
        }
    }
}

struct PlanUpdate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update", abstract: "Add progress to a plan item, in the family's and your words.",
        discussion: "Example: kith plan update 3f2a9c1e -m \"Every Monday since the conference\" --done --from margaret")

    @OptionGroup var common: Common
    @Argument(help: "The plan item (the start of its id, as `kith plan` shows it).") var item: String
    @Option(name: .shortAndLong, help: "What happened.") var message: String
    @Flag(help: "The item is done.") var done = false
    @Option(help: "Or set its status: open, done or dropped.") var status: Components.Schemas.PlanItemStatus?
    @Option(help: ArgumentHelp("Whose words these are: someone in the family's network, by name.", valueName: "person")) var from: String?

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let (plan, item) = try workspace.caseload.planItem(item)
            let person = try from.map { try workspace.caseload.person($0, in: plan.familyId).id }
            try workspace.practice.updatePlanItem(item, in: plan, text: message, status: done ? .done : status, from: person)
            try await workspace.sendIfOnline("Plan item updated")
        }
    }
}
