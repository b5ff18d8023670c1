import Foundation
import KithAPI

/// What a worker records on this device. Every write goes to the outbox first (so it works with no network) and
/// shows at once in the local caseload; `kith sync` takes it to the server.
package struct Practice: Sendable {
    package let caseload: Caseload
    var store: LocalStore { caseload.store }
    var me: String { caseload.workerId }

    package init(caseload: Caseload) {
        self.caseload = caseload
    }

    package struct Visit: Sendable {
        package var at: Date
        package var kind: Components.Schemas.ContactKind
        package var presentPersonIds: [String] = []
        package var childSeen: Bool?
        package var childSeenAlone: Bool?

        package init(at: Date, kind: Components.Schemas.ContactKind) {
            self.at = at
            self.kind = kind
        }
    }

    /// The contact, and the note about it unless the draft is empty. Returns the contact's id and the note's.
    @discardableResult
    package func recordVisit(_ visit: Visit, in family: Caseload.Family, note: NoteDraft?) throws -> (contact: String, note: String?) {
        let id = Self.newId()
        var args: [String: (any Sendable)?] = [
            "familyId": family.id, "id": id, "occurredAt": visit.at.formatted(.iso8601), "kind": visit.kind.rawValue,
        ]
        if !visit.presentPersonIds.isEmpty { args["presentPersonIds"] = visit.presentPersonIds }
        if let seen = visit.childSeen { args["childSeen"] = seen }
        if let alone = visit.childSeenAlone { args["childSeenAlone"] = alone }
        let now = Date()
        let contact = Components.Schemas.Contact(
            id: id, familyId: family.id, occurredAt: visit.at, kind: visit.kind, presentPersonIds: visit.presentPersonIds,
            presentWorkerIds: [], childSeen: visit.childSeen, childSeenAlone: visit.childSeenAlone, recordedBy: me, recordedAt: now,
            deviceRecordedAt: now, clockSuspect: false, lateAfterReallocation: false)
        try store.enqueue("contact.record", familyId: family.id, args: args, shows: [try .init(.contact, id: id, familyId: family.id, contact)])
        guard let note, !note.isEmpty else { return (id, nil) }
        return (id, try writeNote(note, in: family, contactId: id))
    }

    @discardableResult
    package func writeNote(
        _ draft: NoteDraft, in family: Caseload.Family, contactId: String? = nil,
        audience: Components.Schemas.Audience = .professional, writtenWithFamily: Bool = false
    ) throws -> String {
        let id = Self.newId(), revision = Self.newId()
        var args: [String: (any Sendable)?] = [
            "familyId": family.id, "id": id, "revisionId": revision, "body": draft.body, "audience": audience.rawValue,
            "writtenWithFamily": writtenWithFamily,
        ]
        if !draft.sections.isEmpty { args["sections"] = Dictionary(uniqueKeysWithValues: draft.sections.map { ($0.key.rawValue, $0.value) }) }
        if let contactId { args["contactId"] = contactId }
        let now = Date()
        let first = Components.Schemas.NoteRevision(
            id: revision, number: 1, body: draft.body, sections: draft.apiSections, authorId: me, createdAt: now, concurrent: false)
        let note = Components.Schemas.JudgmentNote(
            id: id, familyId: family.id, contactId: contactId, audience: audience, writtenWithFamily: writtenWithFamily,
            authorId: me, createdAt: now, current: first, revisions: [first], concurrent: false, lateAfterReallocation: false,
            deviceRecordedAt: now)
        try store.enqueue("note.create", familyId: family.id, args: args, shows: [try .init(.note, id: id, familyId: family.id, note)])
        return id
    }

    /// A new revision superseding the one the worker saw (the note's current one here).
    package func amend(_ note: Caseload.JudgmentNote, with draft: NoteDraft, reason: String) throws {
        let id = Self.newId()
        var args: [String: (any Sendable)?] = [
            "noteId": note.id, "id": id, "supersedes": note.current.id, "body": draft.body, "reason": reason,
        ]
        if !draft.sections.isEmpty { args["sections"] = Dictionary(uniqueKeysWithValues: draft.sections.map { ($0.key.rawValue, $0.value) }) }
        var amended = note
        let revision = Components.Schemas.NoteRevision(
            id: id, number: note.revisions.count + 1, supersedes: note.current.id, body: draft.body, sections: draft.apiSections,
            reason: reason, authorId: me, createdAt: Date(), concurrent: false)
        amended.revisions.append(revision)
        amended.current = revision
        try store.enqueue("note.amend", familyId: note.familyId, args: args, shows: [try .init(.note, id: note.id, familyId: note.familyId, amended)])
    }

    package struct NewPerson: Sendable {
        package var name: String
        package var relationshipToChild: String?
        package var isChildInFocus = false
        package var dateOfBirth: String?
        package var phone: String?

        package init(name: String) { self.name = name }
    }

    @discardableResult
    package func addPerson(_ person: NewPerson, to family: Caseload.Family) throws -> String {
        let id = Self.newId()
        var args: [String: (any Sendable)?] = ["familyId": family.id, "id": id, "name": person.name, "isChildInFocus": person.isChildInFocus]
        if let relationship = person.relationshipToChild { args["relationshipToChild"] = relationship }
        if let born = person.dateOfBirth { args["dateOfBirth"] = born }
        if let phone = person.phone { args["contact"] = ["phone": phone] }
        let shown = Components.Schemas.Person(
            id: id, familyId: family.id, name: person.name, relationshipToChild: person.relationshipToChild,
            isChildInFocus: person.isChildInFocus, dateOfBirth: person.dateOfBirth, contact: .init(phone: person.phone),
            interpreterNeeded: false, fieldVersions: .init())
        try store.enqueue("person.add", familyId: family.id, args: args, shows: [try .init(.person, id: id, familyId: family.id, shown)])
        return id
    }

    /// Text fields of a person (`phone`, `email`, `address`, `name`, `relationshipToChild`, `language`, `dateOfBirth`;
    /// nil clears), each sent with the version this device saw, so an edit made meanwhile elsewhere becomes a conflict
    /// for a person to resolve rather than being overwritten.
    package func setFields(_ fields: [String: String?], of person: Caseload.Person) throws {
        var edits: [String: (any Sendable)?] = [:]
        var shown = person
        for (field, value) in fields {
            edits[field] = ["value": value, "baseVersion": person.fieldVersions.additionalProperties[field] ?? 0] as [String: (any Sendable)?]
            switch field {
            case "phone": shown.contact.phone = value
            case "email": shown.contact.email = value
            case "address": shown.contact.address = value
            case "name": shown.name = value ?? shown.name
            case "relationshipToChild": shown.relationshipToChild = value
            case "language": shown.language = value
            case "dateOfBirth": shown.dateOfBirth = value
            default: throw CommandError.usage("'\(field)' is not a field of a person that can be set here")
            }
        }
        try store.enqueue(
            "person.setFields", familyId: person.familyId, args: ["personId": person.id, "fields": edits],
            shows: [try .init(.person, id: person.id, familyId: person.familyId, shown)])
    }

    package func updatePlanItem(_ item: Caseload.PlanItem, in plan: Caseload.FamilyPlan, text: String, status: Components.Schemas.PlanItemStatus?) throws {
        let id = Self.newId()
        var args: [String: (any Sendable)?] = ["planItemId": item.id, "id": id, "text": text]
        if let status { args["status"] = status.rawValue }
        var shown = plan
        if let index = shown.items.firstIndex(where: { $0.id == item.id }) {
            shown.items[index].updates.append(.init(id: id, planItemId: item.id, text: text, status: status, authorId: me, createdAt: Date()))
            if let status { shown.items[index].status = status }
        }
        try store.enqueue("planItem.addUpdate", familyId: plan.familyId, args: args, shows: [try .init(.plan, id: plan.id, familyId: plan.familyId, shown)])
    }

    /// Settles a field conflict: `value` becomes a new version of the field; nil keeps the value showing.
    package func resolveConflict(_ item: Components.Schemas.PulledReviewItem, value: String?) throws {
        try store.enqueue("conflict.resolve", familyId: item.familyId, args: ["conflictId": item.id, "value": value])
    }

    /// Ids are made here, so a record can be referred to (amended, attached to) before the server has it.
    static func newId() -> String { UUID().uuidString.lowercased() }
}
