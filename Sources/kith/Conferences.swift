import ArgumentParser
import Foundation
import KithAPI
import KithClient

extension Components.Schemas.ConferenceStage: ExpressibleByArgument {}
extension Components.Schemas.ParticipantRole: ExpressibleByArgument {}

struct ConferenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conference",
        abstract: "Coordinators: a family group conference from referral to an agreed plan and its reviews.",
        discussion: """
            CONF is the start of a conference's id, or a family's reference or name for the family's latest conference.
            Everything works offline, like a visit: it is saved on this machine and sent at the next sync.
            """,
        subcommands: [ConferenceNew.self, ConferenceShow.self, ConferenceStage.self, ConferenceInvite.self, ConferenceMeeting.self],
        defaultSubcommand: ConferenceShow.self)
}

struct ConferenceNew: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new", abstract: "Take a referral: a conference at the referred stage, with you as its coordinator.",
        discussion: """
            The referrer is someone outside Kith (--referrer "NAME, AGENCY") or a colleague (--referrer-worker). The
            family's agreement is recorded with its day and, with --agreed-by, who in the network gave it.

            Example: kith conference new FGC-7 --reason "School worried about attendance" \\
                       --referrer "Mrs Hughes, Riverside Primary School" --family-agreed --agreed-by jade
            """)

    @OptionGroup var common: Common
    @Argument(help: "The family.") var ref: String
    @Option(help: "Why the family was referred.") var reason: String
    @Option(help: ArgumentHelp("Someone outside Kith: their name, then a comma and their agency.", valueName: "name, agency"))
    var referrer: String?
    @Option(help: ArgumentHelp("A colleague who referred the family.", valueName: "worker")) var referrerWorker: String?
    @Flag(help: "The family agreed to the conference.") var familyAgreed = false
    @Option(help: ArgumentHelp("Who in the family's network gave the agreement.", valueName: "person")) var agreedBy: String?
    @Option(help: ArgumentHelp("The day of the referral (default today).", valueName: "day")) var on: DayArgument?
    @Option(name: .customLong("bottom-line"), help: ArgumentHelp("A bottom line the plan must meet (repeatable).", valueName: "text"))
    var bottomLines: [String] = []

    func run() async throws {
        try await reporting {
            guard (referrer == nil) != (referrerWorker == nil) else {
                throw CommandError.usage("say who referred the family: --referrer \"NAME, AGENCY\" or --referrer-worker WORKER")
            }
            let workspace = try common.open()
            let caseload = workspace.caseload
            let family = try caseload.family(ref)
            let agreedById = try agreedBy.map { try caseload.person($0, in: family.id).id }
            let day = on?.text ?? DayArgument.today
            let referral = Components.Schemas.Referral(
                referrerId: try referrerWorker.map(caseload.colleague), referrer: try referrer.map(ConferenceDrafts.outsideReferrer),
                referredOn: day, reason: reason, familyAgreed: familyAgreed, familyAgreedOn: familyAgreed ? day : nil,
                familyAgreedBy: agreedById, bottomLines: bottomLines)
            let conference = try workspace.practice.refer(referral, in: family, on: day)
            try await workspace.sendIfOnline(
                "Referral recorded for \(family.displayName): conference \(Caseload.shortId(conference.id)), referred on \(day)")
        }
    }
}

struct ConferenceShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "A conference: the referral, stages, participants, meetings and plan (as of the last sync).",
        discussion: "Example: kith conference show FGC-7")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Argument(help: "The conference.") var conf: String

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let caseload = workspace.caseload
            let conference = try caseload.conference(conf)
            if listing.json { return try Terminal.json(conference) }
            let style = Terminal.style
            let family = try? caseload.family(conference.familyId)
            let people = Dictionary(try caseload.people(of: conference.familyId).map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
            func name(person: String?, worker: String?) -> String {
                person.map { people[$0] ?? Caseload.shortId($0) } ?? worker.map(caseload.worker) ?? "—"
            }
            let referral = conference.referral
            Terminal.print(style.bold("Conference \(Caseload.shortId(conference.id))") + " — \(family?.displayName ?? "")"
                + ", \(conference.stage.rawValue) since \(conference.stageSince)")
            let referrer = referral.referrer.map { "\($0.name)\($0.agency.map { ", \($0)" } ?? "")" }
                ?? referral.referrerId.map(caseload.worker) ?? "—"
            Terminal.print("Referred by \(referrer) on \(referral.referredOn ?? "—"): \(referral.reason)")
            Terminal.print(referral.familyAgreed
                ? "The family agreed" + (referral.familyAgreedOn.map { " on \($0)" } ?? "")
                    + (referral.familyAgreedBy.map { " (\(people[$0] ?? Caseload.shortId($0)))" } ?? "") + "."
                : style.yellow("The family's agreement is not recorded."))
            for line in referral.bottomLines { Terminal.print("Bottom line: \(line)") }
            if let coordinators = conference.coordinators, !coordinators.isEmpty {
                Terminal.print("Coordinator: " + coordinators.map { "\(caseload.worker($0.workerId)) from \($0.from)" }.joined(separator: ", then "))
            }

            Terminal.print("\n" + style.bold("Stages"))
            for stage in conference.stages {
                Terminal.print("  \(stage.on)  \(stage.stage.rawValue)" + (stage.note.map { " — \($0)" } ?? ""))
            }
            Terminal.print("\n" + style.bold("Participants"))
            var table = Table([.init("WHO", flexible: true), .init("ROLE"), .init("INVITED"), .init("ATTENDED")])
            for participant in conference.participants {
                table.add([
                    name(person: participant.personId, worker: participant.workerId), participant.role.rawValue,
                    participant.invited ? "yes" : "no", participant.attended ? "yes" : "no",
                ])
            }
            Terminal.print(conference.participants.isEmpty ? "  nobody invited yet (`kith conference invite`)" : table.render(width: Terminal.width, style: style))
            let byId = Dictionary(conference.participants.map { ($0.id, name(person: $0.personId, worker: $0.workerId)) },
                                  uniquingKeysWith: { first, _ in first })
            Terminal.print("\n" + style.bold("Meetings"))
            for meeting in conference.meetings ?? [] {
                let time = meeting.privateFamilyTime.map { " — private family time \(Format.clock($0.startedAt))–\($0.endedAt.map(Format.clock) ?? "…")" } ?? ""
                Terminal.print("  \(meeting.heldOn)  \(meeting.kind.rawValue)\(time)")
                if !meeting.attended.isEmpty {
                    Terminal.print("    attended: " + meeting.attended.map { byId[$0] ?? Caseload.shortId($0) }.joined(separator: ", "))
                }
            }
            if conference.meetings?.isEmpty ?? true { Terminal.print("  none yet (`kith conference meeting`)") }
            if let plan = try caseload.store.records(.plan, familyId: conference.familyId, as: Caseload.FamilyPlan.self)
                .filter({ $0.conferenceId == conference.id }).max(by: { $0.version < $1.version }) {
                Terminal.print("\n" + style.bold("Plan"))
                PlanView.print(plan, caseload: caseload)
            }
        }
    }
}

struct ConferenceStage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stage", abstract: "Record the stage the conference reached, on a day.",
        discussion: """
            STAGE: referred, preparing, conferenceHeld, planAgreed, reviewing or closed. Stages are recorded in any order.

            Example: kith conference stage FGC-7 preparing --on 2026-11-10 -m "Met Jade and Margaret at home"
            """)

    @OptionGroup var common: Common
    @Argument(help: "The conference.") var conf: String
    @Argument(help: "The stage.") var stage: Components.Schemas.ConferenceStage
    @Option(help: ArgumentHelp("The day (default today).", valueName: "day")) var on: DayArgument?
    @Option(name: .shortAndLong, help: "A note on the stage.") var message: String?

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let conference = try workspace.caseload.conference(conf)
            let day = on?.text ?? DayArgument.today
            try workspace.practice.recordStage(stage, of: conference, on: day, note: message)
            try await workspace.sendIfOnline("Conference \(Caseload.shortId(conference.id)): \(stage.rawValue) on \(day)")
        }
    }
}

struct ConferenceInvite: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invite", abstract: "Invite someone from the family's network, or a colleague, with their part.",
        discussion: """
            ROLE: familyMember (the default), childAdvocate, informationGiver, interpreter, professional or other.

            Example: kith conference invite FGC-7 margaret --role familyMember
            """)

    @OptionGroup var common: Common
    @Argument(help: "The conference.") var conf: String
    @Argument(help: "Who: a name from the family's network, or a colleague's.") var who: String
    @Option(help: "Their part in the conference.") var role: Components.Schemas.ParticipantRole?

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let conference = try workspace.caseload.conference(conf)
            let present = try workspace.caseload.present(who, in: conference.familyId)
            let part: Components.Schemas.ParticipantRole
            if let role { part = role } else if case .worker = present { part = .professional } else { part = .familyMember }
            try workspace.practice.invite(present, to: conference, role: part)
            let name = switch present {
            case .person(let id): try workspace.caseload.people(of: conference.familyId).first { $0.id == id }?.name ?? who
            case .worker(let id): workspace.caseload.worker(id)
            }
            try await workspace.sendIfOnline("Invited \(name) to conference \(Caseload.shortId(conference.id)) as \(part.rawValue)")
        }
    }
}

struct ConferenceMeeting: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meeting", abstract: "Record the conference meeting or a review: its day, private family time and who came.",
        discussion: """
            Everyone named with --attended was there; every other invited participant is recorded as not attending. Only
            when private family time started and ended is kept, never what was said.

            Example: kith conference meeting FGC-7 --held-on 2026-11-20 --family-time 13:00-14:30 --attended jade margaret
            """)

    @OptionGroup var common: Common
    @Argument(help: "The conference.") var conf: String
    @Option(help: ArgumentHelp("The day it was held.", valueName: "day")) var heldOn: DayArgument
    @Flag(help: "A review meeting (the first is the initial conference).") var review = false
    @Option(help: ArgumentHelp("Private family time, local clock.", valueName: "HH:MM-HH:MM")) var familyTime: String?
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Who was there: names from the network or colleagues.", valueName: "who"))
    var attended: [String] = []

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let caseload = workspace.caseload
            let conference = try caseload.conference(conf)
            let present = try attended.map { try caseload.present($0, in: conference.familyId) }
            let time = try familyTime.map { try ConferenceDrafts.privateTime($0, on: heldOn.text) }
            try workspace.practice.recordMeeting(
                review ? .review : .initial, of: conference, heldOn: heldOn.text, privateTime: time, attended: present)
            try await workspace.sendIfOnline("\(review ? "Review" : "Conference") meeting on \(heldOn.text) recorded (\(present.count) attended)")
        }
    }
}

struct PlanNew: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new", abstract: "Write the family's plan (its next version) in your editor, the open items carried over.",
        discussion: """
            One item a line, WHO: WHAT, optionally ending "by YYYY-MM-DD"; WHO is someone in the family's network or a
            colleague, by name. The open items of the last version start the text: delete a line to leave it out.

            Example: kith plan new FGC-7 --review-on 2027-02-01 --referrer-agreed
            """)

    @OptionGroup var common: Common
    @Argument(help: "The conference (or the family).") var conf: String
    @Option(help: ArgumentHelp("When the plan is reviewed.", valueName: "day")) var reviewOn: DayArgument?
    @Option(help: "What happens if the plan does not hold.") var contingency: String?
    @Flag(help: "The referrer agreed the plan keeps the child safe.") var referrerAgreed = false
    @Option(name: .shortAndLong, help: "The items instead of the editor, one a line.") var message: String?

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let caseload = workspace.caseload
            let conference = try caseload.conference(conf)
            let people = Dictionary(try caseload.people(of: conference.familyId).map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
            let last = try caseload.store.records(.plan, familyId: conference.familyId, as: Caseload.FamilyPlan.self)
                .filter { $0.conferenceId == conference.id }.max { $0.version < $1.version }
            let text: String
            if let message {
                text = message
            } else {
                let carried = ConferenceDrafts.carriedOver(last) { people[$0] ?? caseload.worker($0) }
                let template = (carried + ["", """
                    # The family's plan, version \((last?.version ?? 0) + 1). One item a line: WHO: WHAT [by YYYY-MM-DD].
                    # WHO is someone in the family's network or a colleague, by name. Items still open in the last version
                    # are above: delete a line to leave it out. Lines starting with '#' are left out.
                    """]).joined(separator: "\n")
                text = NoteDraft(editedTemplate: try Terminal.edit(template, in: workspace.profile.directory)).body
            }
            let items = try ConferenceDrafts.planItems(text) { name in
                switch try caseload.present(name, in: conference.familyId) {
                case .person(let id), .worker(let id): id
                }
            }
            guard !items.isEmpty else { return Terminal.note("No items: no plan saved.") }
            let plan = Components.Schemas.CreatePlan(
                items: items, contingency: contingency, reviewOn: reviewOn?.text, agreedByReferrer: referrerAgreed)
            let saved = try workspace.practice.agreePlan(plan, for: conference, after: last)
            try await workspace.sendIfOnline("Plan version \(saved.version) saved with \(saved.items.count) items")
        }
    }
}
