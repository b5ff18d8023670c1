import ArgumentParser
import Foundation
import KithAPI
import KithClient
import OpenAPIRuntime

struct Review: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work that needs a person: field conflicts, notes recorded after a reallocation, rejected changes, words from a family's page.",
        subcommands: [ReviewList.self, ReviewResolve.self, ReviewAccept.self, ReviewDiscard.self], defaultSubcommand: ReviewList.self)
}

struct ReviewList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "The review items waiting for you (as of the last sync); --team: your teams' whole queue (online).",
        discussion: "Example: kith review --team")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Flag(help: "Supervisors: every open item of the teams you supervise, from the server.") var team = false

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            if team { return try await teamQueue(workspace) }
            let items = try workspace.store.reviewItems()
            if listing.json { return try Terminal.json(items) }
            guard !items.isEmpty else { return Terminal.print("Nothing to review.") }
            let families = Dictionary(try workspace.caseload.families().map { ($0.id, $0.displayName) }, uniquingKeysWith: { first, _ in first })
            for item in items {
                let family = item.familyId.flatMap { families[$0] }.map { " — \($0)" } ?? ""
                Terminal.print(Terminal.style.bold("\(Caseload.shortId(item.id))  \(item.kind.rawValue)") + family)
                Terminal.print("  \(item.summary)" + (item.reason.map { " (\($0))" } ?? ""))
                if item.kind == .familyWords, let payload = item.payload?.additionalProperties.value,
                   let words = payload["text"] as? String {
                    let from = try item.familyId.flatMap { family in
                        try workspace.caseload.people(of: family).first { $0.id == payload["personId"] as? String }?.name
                    }
                    let planItem = payload["planItem"] as? String
                    Terminal.print("  \(from ?? "Someone in the family's network")" + (planItem.map { ", on \"\($0)\"" } ?? "")
                        + ": \"\(words)\"")
                }
                if item.kind == .handover, let familyId = item.familyId,
                   let allocation = try workspace.caseload.allocations(of: familyId).first(where: {
                       $0.id == item.payload?.additionalProperties.value["allocationId"] as? String
                   }), let note = allocation.handoverNote {
                    Terminal.print("  \"\(note)\"")
                }
                for (index, value) in ReviewChoices.values(of: item).enumerated() {
                    Terminal.print("  \(index + 1)) \(value.value ?? "(empty)") — \(workspace.caseload.worker(value.workerId))")
                }
            }
            Terminal.print("""

                Conflicts: `kith review resolve ID --choose N` (or --value TEXT, or --keep for what shows now).
                Late notes: `kith review accept ID` acknowledges them; rejected changes: re-enter them, then `kith review discard ID`.
                Words from a family's page are in the family's timeline; `kith review accept ID` marks them read, as it
                does a handover note once you have read it (it is also in `kith family`).
                """)
        }
    }

    private func teamQueue(_ workspace: Workspace) async throws {
        let (items, families) = try await workspace.office { office in (try await office.reviewQueue(), try await office.teamFamilies()) }
        if listing.json { return try Terminal.json(items) }
        guard !items.isEmpty else { return Terminal.print("Nothing waiting in your teams' review queue.") }
        let names = Dictionary((families + (try workspace.caseload.families())).map { ($0.id, $0.displayName) },
                               uniquingKeysWith: { first, _ in first })
        var table = Table([.init("SINCE"), .init("KIND"), .init("FAMILY", flexible: true), .init("WHAT", flexible: true), .init("ID")])
        for item in items {
            table.add([
                Format.when(item.createdAt), item.kind.rawValue, item.familyId.map { names[$0] ?? Caseload.shortId($0) } ?? "—",
                item.summary, Caseload.shortId(item.id),
            ])
        }
        Terminal.table(table)
    }
}

struct ReviewResolve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve", abstract: "Settle a field conflict by choosing a value (works offline; sent at the next sync).")

    @OptionGroup var common: Common
    @Argument(help: "The review item.") var item: String
    @Option(help: "Choose value N as listed by `kith review`.") var choose: Int?
    @Option(help: "Set this value instead.") var value: String?
    @Flag(help: "Keep the value showing now.") var keep = false

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let item = try ReviewChoices.item(item, in: workspace.store)
            guard item.kind == .conflict else {
                throw CommandError.usage("\(Caseload.shortId(item.id)) is a \(item.kind.rawValue) item, not a field conflict: use `kith review accept` or `discard`")
            }
            guard [choose != nil, value != nil, keep].count(where: { $0 }) == 1 else {
                throw CommandError.usage("say one of --choose N, --value TEXT or --keep")
            }
            var chosen = value
            if let choose {
                let values = ReviewChoices.values(of: item)
                guard values.indices.contains(choose - 1) else { throw CommandError.usage("--choose takes 1 to \(values.count)") }
                chosen = values[choose - 1].value
            }
            try workspace.practice.resolveConflict(item, value: keep ? nil : chosen)
            try await workspace.sendIfOnline("Conflict resolved")
        }
    }
}

/// Accepting or discarding needs the server there and then (it may apply work, and a discard is audited).
struct ReviewAccept: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "accept", abstract: "Acknowledge a late note or a family's words, or apply a proposed edit (online).")

    @OptionGroup var common: Common
    @Argument(help: "The review item.") var item: String

    func run() async throws {
        try await reporting { try await ReviewAction.send(.accept, item, common) }
    }
}

struct ReviewDiscard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "discard", abstract: "Mark an item handled without applying it (online; audited).")

    @OptionGroup var common: Common
    @Argument(help: "The review item.") var item: String

    func run() async throws {
        try await reporting { try await ReviewAction.send(.discard, item, common) }
    }
}

enum ReviewAction {
    static func send(_ action: Components.Schemas.ResolveReviewItem.ActionPayload, _ ref: String, _ common: Common) async throws {
        let workspace = try common.open()
        let item = try ReviewChoices.item(ref, in: workspace.store)
        try await workspace.office { office in try await office.resolve(item, action) }
        Terminal.note("Review item \(Caseload.shortId(item.id)): \(action.rawValue)ed.")
        try await workspace.sync()
    }
}
