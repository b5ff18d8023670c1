import ArgumentParser
import Foundation
import KithAPI
import KithClient

/// `kith sar`, `kith hold`, `kith retention`: an information-governance officer's work, on the server (online).
struct SubjectAccess: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sar",
        abstract: "Subject access requests: log one, see the clock, build the bundle, redact, disclose (information governance; online).",
        discussion: """
            A request is named by the start of its id, as `kith sar list` shows it.

            Example: kith sar new --subject 0d49dcad-… --requester 0d49dcad-… --received 2026-12-01 --channel letter
                     kith sar event 5c2e identityRequested --reason "Asked for her bus pass"
                     kith sar redact 5c2e person:0d49dcad-… --text "07700 900946" --exemption thirdParty --reason "Jade's number"
                     kith sar disclose 5c2e --output disclosure.html
            """,
        subcommands: [SARNew.self, SARList.self, SARShow.self, SAREvent.self, SARBundle.self, SARRedact.self, SARRelease.self, SARDisclose.self],
        defaultSubcommand: SARList.self)

    static func print(_ request: Components.Schemas.SubjectAccessRequest) {
        Terminal.print(Terminal.style.bold("Subject access request \(Caseload.shortId(request.id))") + " — \(request.status.rawValue)")
        let overdue = request.overdue ? Terminal.style.yellow(" (overdue)") : ""
        Terminal.print("Received \(request.receivedOn); due \(request.dueOn)\(overdue)\(request.pausedDays > 0 ? ", \(request.pausedDays) days paused" : "")"
            + (request.extended ? ", extended" : ""))
        Terminal.print("About: " + request.dataSubjects.map(\.personId).joined(separator: ", "))
        for event in request.events { Terminal.print("  \(event.on)  \(event.kind.rawValue)\(event.reason.map { ": \($0)" } ?? "")") }
        for disclosure in request.disclosures {
            Terminal.print("  disclosed \(Format.when(disclosure.createdAt)): \(disclosure.itemsDisclosed) items, \(disclosure.itemsWithheld) not; sha256 \(disclosure.sha256)")
        }
    }
}

extension Components.Schemas.CreateSubjectAccessRequest.ActingForPayload: ExpressibleByArgument {}
extension Components.Schemas.SubjectAccessEventKind: ExpressibleByArgument {}
extension Components.Schemas.SubjectAccessRedaction.ExemptionPayload: ExpressibleByArgument {}

struct SARNew: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "new", abstract: "Log a request, received on a day (day one of its clock).")

    @OptionGroup var common: Common
    @Option(name: .customLong("subject"), help: "A person the request is about, by id (repeatable).") var subjects: [String]
    @Option(help: "Who asked, when they are a person of the record (by id).") var requester: String?
    @Option(help: "Who asked, by name, when they are not.") var requesterName: String?
    @Option(help: "self, parentalResponsibility or authorisedAgent.") var actingFor: Components.Schemas.CreateSubjectAccessRequest.ActingForPayload = ._self
    @Option(help: "The day it was received (YYYY-MM-DD).") var received: String
    @Option(help: "How it came: letter, email, in person.") var channel: String?

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let request = try await workspace.office { office in
                try await office.logSubjectAccessRequest(.init(
                    requester: .init(personId: requester, name: requesterName), actingFor: actingFor, dataSubjects: subjects,
                    receivedOn: received, channel: channel))
            }
            SubjectAccess.print(request)
        }
    }
}

struct SARList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Requests, soonest due first; overdue ones marked.")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Flag(help: "Closed ones too.") var all = false

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let requests = try await workspace.office { try await $0.subjectAccessRequests(status: all ? nil : .open) }
            if listing.json { return try Terminal.json(requests) }
            var table = Table([.init("ID"), .init("RECEIVED"), .init("DUE"), .init("STATUS", flexible: true), .init("DISCLOSED", rightAligned: true)])
            for request in requests {
                let status = request.overdue ? Terminal.style.yellow("\(request.status.rawValue), overdue") : request.status.rawValue
                table.add([Caseload.shortId(request.id), request.receivedOn, request.dueOn, status, String(request.disclosures.count)])
            }
            Terminal.table(table)
        }
    }
}

struct SARShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "A request: its clock, its events and its disclosure log.")

    @OptionGroup var common: Common
    @Argument(help: "The request.") var request: String

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            SubjectAccess.print(try await workspace.office { try await $0.subjectAccessRequest(request) })
        }
    }
}

struct SAREvent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "event",
        abstract: "Record what happened: identityRequested, identityReceived, clarificationRequested, clarified, extended, disclosed, refused, closed.")

    @OptionGroup var common: Common
    @Argument(help: "The request.") var request: String
    @Argument(help: "What happened.") var kind: Components.Schemas.SubjectAccessEventKind
    @Option(help: "The day (YYYY-MM-DD; today by default).") var on: String?
    @Option(help: "Why, or what was asked.") var reason: String?

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let day = on ?? String(Date().formatted(.iso8601).prefix(10))
            SubjectAccess.print(try await workspace.office { office in
                try await office.record(.init(kind: kind, on: day, reason: reason), on: try await office.subjectAccessRequest(request))
            })
        }
    }
}

struct SARBundle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle", abstract: "Every item of the record about the data subjects, with Kith's proposal and where decisions leave it (audited).")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Argument(help: "The request.") var request: String

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let items = try await workspace.office { office in try await office.bundle(of: try await office.subjectAccessRequest(request)) }
            if listing.json { return try Terminal.json(items) }
            var table = Table([.init("ITEM"), .init("PROPOSAL"), .init("RULE"), .init("GOES OUT"), .init("WHAT", flexible: true)])
            for item in items {
                table.add([item.id, item.proposal.rawValue, item.rule, item.disclosed ? "yes" : "no", item.title])
            }
            Terminal.table(table)
        }
    }
}

struct SARRedact: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redact", abstract: "Withhold an item, or with --text every occurrence of a span of it; the record is never changed.")

    @OptionGroup var common: Common
    @Argument(help: "The request.") var request: String
    @Argument(help: "The item, as `kith sar bundle` names it.") var item: String
    @Option(help: "A span of the item's text to withhold.") var text: String?
    @Option(help: "thirdParty, seriousHarm, legalPrivilege, courtRecord or other.") var exemption: Components.Schemas.SubjectAccessRedaction.ExemptionPayload
    @Option(help: "Why (required).") var reason: String

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            try await workspace.office { office in
                try await office.redact(.init(itemId: item, text: text, exemption: exemption, reason: reason), in: try await office.subjectAccessRequest(request))
            }
            Terminal.print("\(text == nil ? "Item" : "The span") withheld (\(exemption.rawValue)).")
        }
    }
}

struct SARRelease: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "release", abstract: "Disclose an item proposed for review, whole.")

    @OptionGroup var common: Common
    @Argument(help: "The request.") var request: String
    @Argument(help: "The item.") var item: String
    @Option(help: "Why (required).") var reason: String

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            try await workspace.office { office in
                try await office.release(.init(itemId: item, reason: reason), in: try await office.subjectAccessRequest(request))
            }
            Terminal.print("Item released.")
        }
    }
}

struct SARDisclose: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disclose", abstract: "Make the disclosure as decided now; the document is written to --output, and kept on the server with its SHA-256.")

    @OptionGroup var common: Common
    @Argument(help: "The request.") var request: String
    @Option(help: "Where to write the document (HTML).") var output: String

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let (disclosure, document) = try await workspace.office { office in try await office.disclose(try await office.subjectAccessRequest(request)) }
            try document.write(to: URL(fileURLWithPath: output))
            Terminal.print("Disclosed \(disclosure.itemsDisclosed) items (\(disclosure.itemsWithheld) not) to \(output); sha256 \(disclosure.sha256)")
        }
    }
}

struct Hold: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Legal holds: place one on a family or a team, release one, or list them (information governance; online).",
        discussion: "Example: kith hold --family 4185a01f-… --reason \"Litigation about the placement\"; kith hold --release 9c1e --reason Settled")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Option(help: "Hold this family (by id).") var family: String?
    @Option(help: "Hold every family of this team (by id).") var team: String?
    @Option(help: "Release the hold whose id starts with this.") var release: String?
    @Option(help: "Why (required to place or release).") var reason: String?

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            if family != nil || team != nil || release != nil {
                guard let reason, !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw CommandError.usage("--reason needs a reason") }
                let hold = try await workspace.office { office in
                    if let release { return try await office.releaseHold(release, reason: reason) }
                    return try await office.placeHold(.init(familyId: family, teamId: team, reason: reason))
                }
                return Terminal.print("Hold \(Caseload.shortId(hold.id)) \(hold.released == nil ? "placed" : "released").")
            }
            let holds = try await workspace.office { try await $0.holds() }
            if listing.json { return try Terminal.json(holds) }
            var table = Table([.init("ID"), .init("ON"), .init("SINCE"), .init("REASON", flexible: true), .init("RELEASED")])
            for hold in holds {
                table.add([
                    Caseload.shortId(hold.id), hold.familyId.map { "family \(Caseload.shortId($0))" } ?? "team \(Caseload.shortId(hold.teamId ?? ""))",
                    Format.when(hold.placedAt), hold.reason, hold.released.map { Format.when($0.at) } ?? "",
                ])
            }
            Terminal.table(table)
        }
    }
}

struct Retention: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Retention: the organisation's rules, a family's rule, and the families due for disposal (information governance; online).",
        discussion: "Example: kith retention --due; kith retention 4185a01f-… --rule closedSevenYears")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Argument(help: "A family (by id), to choose its rule.") var family: String?
    @Option(help: "The rule the family follows from now.") var rule: String?
    @Flag(help: "Closed families past their retention with nothing holding them.") var due = false

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            if let family, let rule {
                let retention = try await workspace.office { try await $0.chooseRetentionRule(rule, forFamily: family) }
                let held = retention.holds.map(\.kind.rawValue).joined(separator: ", ")
                return Terminal.print(
                    "The family follows \(retention.rule): kept until \(retention.retainUntil ?? "not known yet")\(held.isEmpty ? "" : ", held (\(held))").")
            }
            if due {
                let families = try await workspace.office { try await $0.disposalDue() }
                if listing.json { return try Terminal.json(families) }
                var table = Table([.init("ID"), .init("REF"), .init("FAMILY", flexible: true), .init("RULE"), .init("CLOSED"), .init("KEPT UNTIL")])
                for family in families {
                    table.add([Caseload.shortId(family.familyId), family.reference ?? "", family.displayName, family.rule, family.closedOn, family.retainUntil])
                }
                return Terminal.table(table)
            }
            let rules = try await workspace.office { try await $0.retentionRules() }
            if listing.json { return try Terminal.json(rules) }
            var table = Table([.init("CODE"), .init("YEARS", rightAligned: true), .init("FROM"), .init("DESCRIPTION", flexible: true)])
            for rule in rules { table.add([rule.code, String(rule.years), rule.anchor.rawValue, rule.description]) }
            Terminal.table(table)
        }
    }
}
