import ArgumentParser
import Foundation
import KithAPI
import KithClient

/// Supervisors' views. They read the server's continuity measures, so they need the network.
struct TeamCaseload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caseload",
        abstract: "Supervisors: the team's families, who holds them and for how long, last contact, signals raised (online).")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Option(help: "The team (a piece of its name); all your teams when not given.") var team: String?

    struct Row: Encodable {
        let teamId: String, familyId: String, family: String, reference: String?
        let workers: [String], tenureDays: Int?, daysSinceLastContact: Int?, daysSinceChildSeen: Int?, workersIn365: Int
        let signals: [String]
    }

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let teams = try Office.teams(team, from: workspace.session.me.teams)
            let rows = try await workspace.office { office in
                var rows: [Row] = []
                let names = Dictionary(try await office.teamFamilies().map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
                for team in teams {
                    let continuity = try await office.continuity(of: team)
                    for measures in continuity.families {
                        let family = names[measures.familyId]
                        rows.append(Row(
                            teamId: team.id, familyId: measures.familyId, family: family?.displayName ?? Caseload.shortId(measures.familyId),
                            reference: family?.reference, workers: measures.currentWorkers.map { workspace.caseload.worker($0.workerId) },
                            tenureDays: measures.currentWorkers.first { $0.role == .allocatedWorker }?.tenureDays,
                            daysSinceLastContact: measures.daysSinceLastContact, daysSinceChildSeen: measures.daysSinceChildSeen,
                            workersIn365: measures.distinctAllocatedWorkers365,
                            signals: measures.signals.filter(\.raised).map { ContinuityView.label($0.measure) }))
                    }
                }
                return rows.sorted { $0.family < $1.family }
            }
            if listing.json { return try Terminal.json(rows) }
            guard !rows.isEmpty else { return Terminal.print("No open families in \(teams.map(\.name).joined(separator: ", ")).") }
            var table = Table([
                .init("FAMILY", flexible: true), .init("WORKER", flexible: true), .init("TENURE", rightAligned: true),
                .init("CONTACT", rightAligned: true), .init("SEEN", rightAligned: true), .init("SIGNALS", flexible: true),
            ])
            for row in rows {
                table.add([
                    row.family, row.workers.joined(separator: ", "), Format.shortDays(row.tenureDays), Format.shortDays(row.daysSinceLastContact),
                    Format.shortDays(row.daysSinceChildSeen), row.signals.isEmpty ? "" : Terminal.style.yellow(row.signals.joined(separator: ", ")),
                ])
            }
            Terminal.table(table)
            Terminal.print(Terminal.style.dim("TENURE: the allocated worker's days with the family; CONTACT / SEEN: days since last contact / child seen. Signals are for supervision, not targets."))
        }
    }
}

struct Continuity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continuity measures for a family, a worker or a team, with the team's signal thresholds (online).")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Option(help: "A family on this machine.") var family: String?
    @Option(help: "A worker: 'me', a name, or the start of their id.") var worker: String?
    @Option(help: "A team (a piece of its name).") var team: String?

    func run() async throws {
        try await reporting {
            guard [family, worker, team].compactMap({ $0 }).count == 1 else { throw CommandError.usage("say one of --family, --worker or --team") }
            let workspace = try common.open()
            if let family {
                let (chosen, measures): (Components.Schemas.Family, Components.Schemas.FamilyContinuity) = try await workspace.office { office in
                    let chosen = try await office.family(family, caseload: workspace.caseload)
                    return (chosen, try await office.continuity(of: chosen))
                }
                if listing.json { return try Terminal.json(measures) }
                ContinuityView.print(measures, family: chosen, caseload: workspace.caseload)
            } else if let worker {
                let (measures, families): (Components.Schemas.WorkerContinuity, [Components.Schemas.Family]) = try await workspace.office { office in
                    (try await office.continuity(of: try await office.worker(worker)), try await office.teamFamilies())
                }
                if listing.json { return try Terminal.json(measures) }
                Terminal.print(Terminal.style.bold(workspace.caseload.worker(measures.workerId)) + " — as of \(measures.asOf)")
                Terminal.print("Caseload: \(measures.caseload) families; handovers in the last year: \(measures.handoversIn365) in, \(measures.handoversOut365) out")
                var table = Table([.init("FAMILY", flexible: true), .init("ROLE"), .init("TENURE", rightAligned: true)])
                let names = Dictionary((try workspace.caseload.families() + families).map { ($0.id, $0.displayName) }, uniquingKeysWith: { first, _ in first })
                for allocation in measures.allocations {
                    table.add([names[allocation.familyId] ?? Caseload.shortId(allocation.familyId), Caseload.describe(allocation.role), Format.days(allocation.tenureDays)])
                }
                Terminal.table(table)
            } else if let team {
                let chosen = try Office.teams(team, from: workspace.session.me.teams)[0]
                let measures = try await workspace.office { office in try await office.continuity(of: chosen) }
                if listing.json { return try Terminal.json(measures) }
                Terminal.print(Terminal.style.bold(chosen.name) + " — as of \(measures.asOf), \(measures.families.count) families")
                Terminal.print("Families that kept one worker over the year: \(measures.keptOneWorkerShare.map { "\(Int(($0 * 100).rounded()))%" } ?? "—")")
                Terminal.print("Worker changes per family-year: \(measures.workerChangesPerFamilyYear.map { String(format: "%.2f", $0) } ?? "—")")
                Terminal.print("Families with three or more workers in the year: \(measures.familiesWithThreeOrMoreWorkers365.count)")
                Terminal.print("For each family: `kith caseload --team \(team)`.")
            }
        }
    }
}

enum ContinuityView {
    static func print(_ measures: Components.Schemas.FamilyContinuity, family: Components.Schemas.Family, caseload: Caseload) {
        Terminal.print(Terminal.style.bold(family.displayName) + " — as of \(measures.asOf)")
        let thresholds = Dictionary(measures.signals.map { ($0.measure, $0) }, uniquingKeysWith: { first, _ in first })
        var table = Table([.init("MEASURE", flexible: true), .init("VALUE", rightAligned: true), .init("SIGNAL", flexible: true)])
        func add(_ label: String, _ key: String, _ value: String) {
            let signal = thresholds[key].map { $0.raised ? Terminal.style.yellow("raised (threshold \(Self.number($0.threshold)))") : "threshold \(Self.number($0.threshold))" } ?? ""
            table.add([label, value, signal])
        }
        let workers = measures.currentWorkers.map { "\(caseload.worker($0.workerId)) \($0.tenureDays)d" }.joined(separator: ", ")
        add("Current workers (tenure)", "currentWorkers", workers.isEmpty ? "none" : workers)
        add("Allocated workers in the year", "distinctAllocatedWorkers365", String(measures.distinctAllocatedWorkers365))
        let handovers = measures.handovers365
        add("Handovers in the year (note / joint visit)", "handovers365", "\(handovers.total) (\(handovers.withNote) / \(handovers.withJointVisit))")
        add("Days since last contact", "daysSinceLastContact", measures.daysSinceLastContact.map(String.init) ?? "—")
        add("Days since the child was seen", "daysSinceChildSeen", measures.daysSinceChildSeen.map(String.init) ?? "—")
        // Each child in focus, by name where the family is on this machine.
        let names = Dictionary(((try? caseload.people(of: family.id)) ?? []).map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        for child in measures.childrenInFocus ?? [] {
            add("  \(names[child.personId] ?? Caseload.shortId(child.personId))", "", child.daysSinceSeen.map(String.init) ?? "not seen")
        }
        add("Median days between contacts (90 d)", "medianContactGapDays90", measures.medianContactGapDays90.map(Self.number) ?? "—")
        add("Median hours to record (90 d)", "medianRecordingLagHours90", measures.medianRecordingLagHours90.map(Self.number) ?? "—")
        add("Conference stage (days)", "daysInStage", measures.fgcStage.map { "\($0) (\(measures.daysInStage.map(String.init) ?? "—"))" } ?? "—")
        add("Plan review date passed", "planReviewPassed", measures.planReviewPassed.map { $0 ? "yes" : "no" } ?? "—")
        Terminal.table(table)
    }

    /// A measure's key as a few words for a narrow column.
    static func label(_ measure: String) -> String {
        switch measure {
        case "daysSinceLastContact": "no contact"
        case "daysSinceChildSeen": "child not seen"
        case "planReviewPassed": "plan review"
        case "distinctAllocatedWorkers365", "workerChanges365": "worker changes"
        case "workerLeft": "worker leaving"
        default: measure
        }
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}
