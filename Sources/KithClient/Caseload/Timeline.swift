import Foundation
import KithAPI

/// One line of a family's history as this device knows it, newest first.
package struct TimelineEntry: Codable, Sendable {
    package let at: Date
    package let kind: String
    package let id: String
    package let summary: String
    package let by: String?
    /// Recorded here and not yet on the server.
    package let unsynced: Bool
}

extension Caseload {
    package func timeline(of familyId: String) throws -> [TimelineEntry] {
        let unsynced = try store.unsyncedIds()
        var entries: [TimelineEntry] = []
        func add(_ at: Date, _ kind: String, _ id: String, _ summary: String, by: String?) {
            entries.append(TimelineEntry(at: at, kind: kind, id: id, summary: summary, by: by.map(worker), unsynced: unsynced.contains(id)))
        }
        for contact in try contacts(of: familyId) {
            var seen: [String] = []
            if contact.childSeenAlone == true { seen.append("child seen alone") } else if contact.childSeen == true { seen.append("child seen") }
            if contact.lateAfterReallocation { seen.append("recorded after reallocation") }
            if contact.corrections?.isEmpty == false { seen.append("corrected") }
            add(contact.occurredAt, "contact", contact.id, ([Self.describe(contact.kind)] + seen).joined(separator: " — "), by: contact.recordedBy)
        }
        for note in try notes(of: familyId) {
            let amended = note.revisions.count > 1 ? " (amended)" : ""
            add(note.deviceRecordedAt ?? note.createdAt, "note", note.id, "Note: \(Self.firstLine(note.current.body))\(amended)", by: note.current.authorId)
        }
        for allocation in try allocations(of: familyId) {
            let start = Self.date(allocation.startedOn)
            add(start, "allocationStarted", allocation.id, "Allocated to \(worker(allocation.workerId)) (\(Self.describe(allocation.role)))", by: nil)
            if let ended = allocation.endedOn {
                let handover = allocation.handoverNote == nil ? " (no handover note)" : ""
                add(Self.date(ended), "allocationEnded", allocation.id,
                    "\(worker(allocation.workerId)) left: \(allocation.endReason ?? "no reason given")\(handover)", by: nil)
            }
            if let note = allocation.handoverNote {
                // The note's whole text: the timeline is where the incoming worker first reads it.
                add(allocation.handoverWrittenAt ?? start, "handover", allocation.id + "-handover",
                    "Handover from \(worker(allocation.workerId)): \(note)", by: allocation.handoverWrittenBy)
            }
        }
        for conference in try conferences(of: familyId) {
            for stage in conference.stages {
                add(Self.date(stage.on), "conferenceStage", conference.id, "Conference: \(stage.stage.rawValue)\(stage.note.map { " — \($0)" } ?? "")", by: stage.recordedBy)
            }
        }
        // A family member's own words (from the family's page) are theirs, named as in the family's network.
        let names = Dictionary(try people(of: familyId).map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        func familyMember(_ id: String) -> String { names[id] ?? Self.shortId(id) }
        for plan in try store.records(.plan, familyId: familyId, as: FamilyPlan.self) {
            add(plan.createdAt, "plan", plan.id, "Plan version \(plan.version) (\(plan.items.count) items)", by: plan.createdBy)
            for item in plan.items {
                for update in item.updates {
                    let status = update.status.map { " [\($0.rawValue)]" } ?? ""
                    if let person = update.personId {
                        entries.append(TimelineEntry(
                            at: update.createdAt, kind: "planItemUpdate", id: update.id, summary: "\(item.what): \"\(update.text)\"\(status)",
                            by: "\(familyMember(person)) (family page)", unsynced: false))
                    } else {
                        add(update.createdAt, "planItemUpdate", update.id, "\(item.what): \(update.text)\(status)", by: update.authorId)
                    }
                }
            }
        }
        for message in try store.records(.familyMessage, familyId: familyId, as: Components.Schemas.FamilyMessage.self) {
            entries.append(TimelineEntry(
                at: message.createdAt, kind: "familyMessage", id: message.id,
                summary: message.aboutNoteId.map { "Says note \(Caseload.shortId($0)) is not right: \"\(message.text)\"" }
                    ?? "Message: \"\(message.text)\"",
                by: "\(familyMember(message.personId)) (family page)", unsynced: false))
        }
        return entries.sorted { $0.at > $1.at }
    }

    package func worker(_ id: String) -> String { id == workerId ? "me" : workerNames[id] ?? Self.shortId(id) }

    package static func describe(_ kind: Components.Schemas.ContactKind) -> String {
        switch kind {
        case .homeVisit: "Home visit"
        case .phone: "Phone call"
        case .video: "Video call"
        case .school: "School visit"
        case .office: "Office visit"
        case .conference: "Conference"
        case .other: "Contact"
        }
    }

    package static func describe(_ role: Components.Schemas.AllocationRole) -> String {
        switch role {
        case .allocatedWorker: "allocated worker"
        case .coordinator: "coordinator"
        case .familySupport: "family support"
        }
    }

    /// A calendar day as a time for ordering: noon in the device's time zone.
    static func date(_ day: String) -> Date {
        let parts = day.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return .distantPast }
        return Calendar.current.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2], hour: 12)) ?? .distantPast
    }
}
