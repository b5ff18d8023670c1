import Foundation
import KithAPI

/// The worker's caseload as this device holds it: the pulled records plus the work done here and not yet synced.
package struct Caseload: Sendable {
    package typealias Family = Components.Schemas.Family
    package typealias Person = Components.Schemas.Person
    package typealias Allocation = Components.Schemas.Allocation
    package typealias Contact = Components.Schemas.Contact
    package typealias JudgmentNote = Components.Schemas.JudgmentNote
    package typealias FamilyPlan = Components.Schemas.FamilyPlan
    package typealias PlanItem = Components.Schemas.PlanItem
    package typealias Conference = Components.Schemas.Conference

    package let store: LocalStore
    package let workerId: String
    /// Colleagues' names as last fetched from the server (ids are shown for anyone not in it).
    let workerNames: [String: String]

    package init(store: LocalStore, workerId: String) throws {
        self.store = store
        self.workerId = workerId
        workerNames = try store.workerNames()
    }

    package func families() throws -> [Family] {
        try store.records(.family, as: Family.self).sorted { $0.displayName.localizedCaseInsensitiveCompare($1.displayName) == .orderedAscending }
    }

    package func people(of familyId: String) throws -> [Person] {
        try store.records(.person, familyId: familyId, as: Person.self).sorted { ($0.isChildInFocus ? 0 : 1, $0.name) < ($1.isChildInFocus ? 0 : 1, $1.name) }
    }

    package func allocations(of familyId: String) throws -> [Allocation] {
        try store.records(.allocation, familyId: familyId, as: Allocation.self).sorted { $0.startedOn > $1.startedOn }
    }

    /// The family's contacts as corrected, newest first; a contact withdrawn as recorded on the wrong family is in none
    /// of the views.
    package func contacts(of familyId: String) throws -> [Contact] {
        try store.records(.contact, familyId: familyId, as: Contact.self).filter { $0.withdrawn == nil }.sorted { $0.occurredAt > $1.occurredAt }
    }

    /// The family's notes as the device holds them, newest first; a note withdrawn as filed in error is in none of the
    /// views, as it is in none of the server's.
    package func notes(of familyId: String) throws -> [JudgmentNote] {
        try store.records(.note, familyId: familyId, as: JudgmentNote.self).filter { $0.withdrawn == nil }.sorted { $0.createdAt > $1.createdAt }
    }

    /// The newest plan version of the family's conferences, if any.
    package func currentPlan(of familyId: String) throws -> FamilyPlan? {
        try store.records(.plan, familyId: familyId, as: FamilyPlan.self).max { ($0.createdAt, $0.version) < ($1.createdAt, $1.version) }
    }

    package func conferences(of familyId: String) throws -> [Conference] {
        try store.records(.conference, familyId: familyId, as: Conference.self)
    }

    // MARK: Caseload rows

    package struct Row: Codable, Sendable {
        package let id: String
        package let reference: String?
        package let name: String
        package let childrenInFocus: [String]
        /// Days since this worker's current allocation to the family began (nil: not currently allocated).
        package let myTenureDays: Int?
        package let daysSinceLastContact: Int?
        package let unsynced: Int
    }

    package func rows(today: Date = Date(), calendar: Calendar = .current) throws -> [Row] {
        let pending = try store.pending()
        return try families().map { family in
            let mine = try allocations(of: family.id).first { $0.workerId == workerId && $0.endedOn == nil }
            let lastContact = try contacts(of: family.id).first?.occurredAt
            return Row(
                id: family.id, reference: family.reference, name: family.displayName,
                childrenInFocus: try people(of: family.id).filter(\.isChildInFocus).map(\.name),
                myTenureDays: mine.flatMap { Days.between(day: $0.startedOn, and: today, calendar: calendar) },
                daysSinceLastContact: lastContact.map { Days.between($0, and: today, calendar: calendar) },
                unsynced: pending[family.id] ?? 0)
        }
    }

    // MARK: References

    /// A family by its reference, an id prefix, or a fragment of its name that only one family matches.
    package func family(_ ref: String) throws -> Family {
        try Self.family(ref, among: try families())
    }

    /// The same rules over any list (a supervisor's team, fetched from the server).
    package static func family(_ ref: String, among families: [Family]) throws -> Family {
        let needle = ref.lowercased()
        if let exact = families.first(where: { $0.reference?.lowercased() == needle || $0.id == needle }) { return exact }
        return try unique(
            ref, "family",
            families.filter { $0.id.hasPrefix(needle) || $0.displayName.lowercased().contains(needle) || $0.reference?.lowercased().hasPrefix(needle) == true },
            describe: { "\($0.displayName)\($0.reference.map { " (\($0))" } ?? "")" })
    }

    package func person(_ ref: String, in familyId: String? = nil) throws -> Person {
        let people = try store.records(.person, familyId: familyId, as: Person.self)
        let needle = ref.lowercased()
        if let exact = people.first(where: { $0.id == needle || $0.name.lowercased() == needle }) { return exact }
        return try Self.unique(
            ref, "person", people.filter { $0.id.hasPrefix(needle) || $0.name.lowercased().contains(needle) }, describe: \.name)
    }

    /// Who `--with NAME` means at a visit: someone in the family's network, else a colleague.
    package enum Present: Equatable, Sendable {
        case person(String), worker(String)

        /// As a participant or a plan item names them: one of the two ids.
        package var ids: (person: String?, worker: String?) {
            switch self {
            case .person(let id): (id, nil)
            case .worker(let id): (nil, id)
            }
        }
    }

    package func present(_ ref: String, in familyId: String) throws -> Present {
        do {
            return .person(try person(ref, in: familyId).id)
        } catch {
            guard let worker = try? colleague(ref) else {
                throw CommandError.usage(
                    "nobody in the family's network nor a colleague matches '\(ref)' (run `kith sync` if they are new)")
            }
            return .worker(worker)
        }
    }

    /// A colleague by name, as last fetched from the server (`kith sync` refreshes the names).
    package func colleague(_ ref: String) throws -> String {
        let needle = ref.lowercased()
        let known = workerNames.filter { $0.key != workerId }.map { (id: $0.key, name: $0.value) }
        if let exact = known.first(where: { $0.id == needle || $0.name.lowercased() == needle }) { return exact.id }
        return try Self.unique(
            ref, "colleague", known.filter { $0.id.hasPrefix(needle) || $0.name.lowercased().contains(needle) }, describe: \.name).id
    }

    /// The newest handover note written about the family, if any: what the incoming worker reads first.
    package func latestHandover(of familyId: String) throws -> Allocation? {
        try allocations(of: familyId).filter { $0.handoverNote != nil }
            .max { ($0.handoverWrittenAt ?? .distantPast, $0.startedOn) < ($1.handoverWrittenAt ?? .distantPast, $1.startedOn) }
    }

    /// This worker's own current allocation to the family, the one their handover is written on.
    package func myAllocation(of familyId: String) throws -> Allocation? {
        try allocations(of: familyId).first { $0.workerId == workerId && $0.endedOn == nil && $0.role == .allocatedWorker }
            ?? allocations(of: familyId).first { $0.workerId == workerId && $0.endedOn == nil }
    }

    /// A conference by the start of its id, or a family's (its latest) by the family's reference or name.
    package func conference(_ ref: String) throws -> Conference {
        let needle = ref.lowercased()
        let all = try store.records(.conference, as: Conference.self)
        let byId = all.filter { $0.id.hasPrefix(needle) }
        if byId.count == 1, let only = byId.first { return only }
        if let family = try? family(ref),
           let latest = all.filter({ $0.familyId == family.id }).max(by: { ($0.referral.referredOn ?? "") < ($1.referral.referredOn ?? "") })
        {
            return latest
        }
        return try Self.unique(ref, "conference", byId, describe: { Self.shortId($0.id) })
    }

    package func note(_ ref: String) throws -> JudgmentNote {
        let needle = ref.lowercased()
        let notes = try store.records(.note, as: JudgmentNote.self).filter { $0.withdrawn == nil }
        return try Self.unique(ref, "note", notes.filter { $0.id.hasPrefix(needle) }, describe: { Self.firstLine($0.current.body) })
    }

    package func contact(_ ref: String) throws -> Contact {
        let needle = ref.lowercased()
        let contacts = try store.records(.contact, as: Contact.self).filter { $0.withdrawn == nil }
        return try Self.unique(
            ref, "contact", contacts.filter { $0.id.hasPrefix(needle) }, describe: { "\(Self.describe($0.kind)) at \($0.occurredAt.ISO8601Format())" })
    }

    package func planItem(_ ref: String) throws -> (plan: FamilyPlan, item: PlanItem) {
        let needle = ref.lowercased()
        let plans = try store.records(.plan, as: FamilyPlan.self)
        let items = plans.flatMap { plan in plan.items.filter { $0.id.hasPrefix(needle) }.map { (plan: plan, item: $0) } }
        return try Self.unique(ref, "plan item", items, describe: { $0.item.what })
    }

    private static func unique<T>(_ ref: String, _ kind: String, _ matches: [T], describe: (T) -> String) throws -> T {
        guard !ref.isEmpty, let first = matches.first else {
            throw CommandError.usage("no \(kind) on this device matches '\(ref)' (run `kith sync` if it is new)")
        }
        guard matches.count == 1 else {
            let names = matches.prefix(5).map(describe).joined(separator: "; ")
            throw CommandError.usage("'\(ref)' matches \(matches.count) \(kind == "family" ? "families" : kind + "s"): \(names) — say more")
        }
        return first
    }

    package static func firstLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
    }

    package static func shortId(_ id: String) -> String { String(id.prefix(8)) }
}

/// Whole days in the device's calendar, as a person counts them ("yesterday" is 1).
package enum Days {
    package static func between(_ start: Date, and end: Date, calendar: Calendar) -> Int {
        calendar.dateComponents([.day], from: calendar.startOfDay(for: start), to: calendar.startOfDay(for: end)).day ?? 0
    }

    /// From a `YYYY-MM-DD` day.
    package static func between(day: String, and end: Date, calendar: Calendar) -> Int? {
        let parts = day.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, let start = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])) else { return nil }
        return between(start, and: end, calendar: calendar)
    }
}
