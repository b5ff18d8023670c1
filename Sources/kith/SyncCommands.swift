import ArgumentParser
import Foundation
import KithAPI
import KithClient

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send what was written here, then bring this machine's caseload up to date.")

    @OptionGroup var common: Common

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let summary = try await workspace.sync()
            var parts = ["sent \(summary.pushed)", "received \(summary.changes) update\(summary.changes == 1 ? "" : "s")"]
            if summary.purged > 0 { parts.append("removed \(summary.purged) famil\(summary.purged == 1 ? "y" : "ies") no longer on your caseload") }
            Terminal.note("Synced: " + parts.joined(separator: ", ") + ".")
            if summary.rejected > 0 {
                Terminal.note(Terminal.errorStyle.yellow("The server kept \(summary.rejected) change\(summary.rejected == 1 ? "" : "s") for review instead of applying them: see `kith review`."))
            }
            let items = try workspace.store.reviewItems().count
            if items > 0 { Terminal.note("\(items) review item\(items == 1 ? "" : "s") waiting: `kith review`.") }
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Last sync, what waits to be sent (per family), and review items waiting.")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing

    struct Output: Encodable {
        struct Waiting: Encodable {
            let familyId: String?, family: String?, changes: Int
        }
        let profile: String, server: String, worker: String
        let lastSyncAt: String?
        let waiting: [Waiting]
        let reviewItems: Int
    }

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let names = Dictionary(try workspace.caseload.families().map { ($0.id, $0.displayName) }, uniquingKeysWith: { first, _ in first })
            let waiting = try workspace.store.pending()
                .map { Output.Waiting(familyId: $0.key, family: $0.key.flatMap { names[$0] }, changes: $0.value) }
                .sorted { ($0.family ?? "") < ($1.family ?? "") }
            let output = Output(
                profile: workspace.profile.name, server: workspace.session.server.absoluteString, worker: workspace.session.me.worker.name,
                lastSyncAt: try workspace.store.setting("lastSyncAt"), waiting: waiting, reviewItems: try workspace.store.reviewItems().count)
            if listing.json { return try Terminal.json(output) }

            let style = Terminal.style
            Terminal.print("\(output.worker) on \(output.server) (profile \(output.profile))")
            let last = output.lastSyncAt.flatMap { try? Date($0, strategy: .iso8601) }
            Terminal.print("Last sync: \(last.map(Format.ago) ?? style.yellow("never"))")
            if waiting.isEmpty {
                Terminal.print("Nothing waiting to be sent.")
            } else {
                Terminal.print(style.yellow("Waiting to be sent: \(try workspace.store.waitingDescription() ?? "")"))
                var table = Table([.init("FAMILY", flexible: true), .init("CHANGES", rightAligned: true)])
                for item in waiting { table.add([item.family ?? (item.familyId.map(Caseload.shortId) ?? "(not about one family)"), String(item.changes)]) }
                Terminal.table(table)
            }
            if output.reviewItems > 0 {
                Terminal.print(style.yellow("\(output.reviewItems) review item\(output.reviewItems == 1 ? "" : "s") waiting: run `kith review`."))
            }
        }
    }
}

/// Times and durations as a person reads them.
enum Format {
    static func ago(_ date: Date) -> String {
        let seconds = Int(Date().timeIntervalSince(date))
        let when = Format.when(date)
        switch seconds {
        case ..<60: return "\(when) (just now)"
        case ..<3600: return "\(when) (\(seconds / 60) min ago)"
        case ..<86_400: return "\(when) (\(seconds / 3600) h ago)"
        default: return "\(when) (\(seconds / 86_400) days ago)"
        }
    }

    /// `2026-11-29 14:30`, in the machine's time zone.
    static func when(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_GB_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.string(from: date)
    }

    /// `14:30`, in the machine's time zone.
    static func clock(_ date: Date) -> String {
        String(when(date).suffix(5))
    }

    /// `507d`, for narrow columns.
    static func shortDays(_ days: Int?) -> String {
        days.map { $0 == 0 ? "today" : "\($0)d" } ?? "—"
    }

    static func days(_ days: Int?) -> String {
        guard let days else { return "—" }
        switch days {
        case 0: return "today"
        case 1: return "1 day"
        default: return "\(days) days"
        }
    }
}
