import Foundation
import KithAPI

/// What a coordinator types for a conference, read into the request bodies.
package enum ConferenceDrafts {
    /// `Mrs Hughes, Riverside Primary School`: a name, then a comma and the agency (optional).
    package static func outsideReferrer(_ text: String) throws -> Components.Schemas.OutsideReferrer {
        let parts = text.split(separator: ",", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let name = parts.first, !name.isEmpty else { throw CommandError.usage("--referrer takes a name, then a comma and the agency") }
        return .init(name: name, agency: parts.count > 1 && !parts[1].isEmpty ? parts[1] : nil)
    }

    /// `13:00-14:30` on a day, on this device's clock.
    package static func privateTime(
        _ text: String, on day: String, calendar: Calendar = .current
    ) throws -> Components.Schemas.PrivateFamilyTime {
        let ends = text.split(separator: "-").map { When.parse("\(day) \($0)", calendar: calendar) }
        guard ends.count == 2, let start = ends[0], let end = ends[1], end >= start else {
            throw CommandError.usage("--family-time takes a start and an end on the day, for example 13:00-14:30")
        }
        return .init(startedAt: start, endedAt: end)
    }

    /// A plan's items, one a line: `WHO: WHAT`, optionally ending `by YYYY-MM-DD`; `who` finds the person or worker.
    package static func planItems(_ text: String, who: (String) throws -> String) throws -> [Components.Schemas.CreatePlanItem] {
        var items: [Components.Schemas.CreatePlanItem] = []
        for line in text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) where !line.isEmpty {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw CommandError.usage("'\(line)' is not WHO: WHAT (for example \"Margaret: Takes Amy to school on Mondays\")")
            }
            var what = parts[1]
            var byWhen: String?
            if let range = what.range(of: #" by \d{4}-\d{2}-\d{2}$"#, options: .regularExpression) {
                byWhen = String(what[range].dropFirst(4))
                what = String(what[..<range.lowerBound])
            }
            items.append(.init(who: try who(parts[0]), what: what, byWhen: byWhen))
        }
        return items
    }

    /// The lines a new plan version starts from: the last version's open items, as `planItems` reads them.
    package static func carriedOver(_ plan: Components.Schemas.FamilyPlan?, name: (String) -> String) -> [String] {
        (plan?.items ?? []).filter { $0.status == .open }.map { item in
            "\(name(item.who)): \(item.what)" + (item.byWhen.map { " by \($0)" } ?? "")
        }
    }
}
