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
        /// Colleagues who were there too (the worker recording it always was).
        package var presentWorkerIds: [String] = []
        /// Interpreters and other professionals, by name and role.
        package var othersPresent: [Components.Schemas.OtherPresent] = []
        package var childSeen: Bool?
        package var childSeenAlone: Bool?

        package init(at: Date, kind: Components.Schemas.ContactKind) {
            self.at = at
            self.kind = kind
        }

        /// `Ana Silva, interpreter`: a name, a comma, their role.
        package static func other(_ text: String) throws -> Components.Schemas.OtherPresent {
            let parts = text.split(separator: ",", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw CommandError.usage("'\(text)' is not NAME, ROLE (for example \"Ana Silva, interpreter\")")
            }
            return .init(name: parts[0], role: parts[1])
        }
    }

    /// The contact, and the note about it unless the draft is empty. Returns the contact's id and the note's.
    @discardableResult
    package func recordVisit(_ visit: Visit, in family: Caseload.Family, note: NoteDraft?) throws -> (contact: String, note: String?) {
        let id = Self.newId()
        let body = Components.Schemas.CreateContact(
            id: id, occurredAt: visit.at, kind: visit.kind,
            presentPersonIds: visit.presentPersonIds.isEmpty ? nil : visit.presentPersonIds,
            presentWorkerIds: visit.presentWorkerIds.isEmpty ? nil : visit.presentWorkerIds,
            othersPresent: visit.othersPresent.isEmpty ? nil : visit.othersPresent,
            childSeen: visit.childSeen, childSeenAlone: visit.childSeenAlone)
        let now = Date()
        let contact = Components.Schemas.Contact(
            id: id, familyId: family.id, occurredAt: visit.at, kind: visit.kind, presentPersonIds: visit.presentPersonIds,
            presentWorkerIds: Array(Set(visit.presentWorkerIds + [me])).sorted(), childSeen: visit.childSeen, childSeenAlone: visit.childSeenAlone, recordedBy: me, recordedAt: now,
            deviceRecordedAt: now, clockSuspect: false, lateAfterReallocation: false, othersPresent: visit.othersPresent)
        try store.enqueue(.recordContact(familyId: family.id, body), familyId: family.id, shows: [try .init(.contact, id: id, familyId: family.id, contact)])
        guard let note, !note.isEmpty else { return (id, nil) }
        return (id, try writeNote(note, in: family, contactId: id))
    }

    @discardableResult
    package func writeNote(
        _ draft: NoteDraft, in family: Caseload.Family, contactId: String? = nil,
        audience: Components.Schemas.Audience = .professional, writtenWithFamily: Bool = false
    ) throws -> String {
        let id = Self.newId(), revision = Self.newId()
        let body = Components.Schemas.CreateNote(
            id: id, revisionId: revision, contactId: contactId, body: draft.body,
            sections: draft.sections.isEmpty ? nil : draft.apiSections, writtenWithFamily: writtenWithFamily, audience: audience)
        let now = Date()
        let first = Components.Schemas.NoteRevision(
            id: revision, number: 1, body: draft.body, sections: draft.apiSections, authorId: me, createdAt: now, concurrent: false)
        let note = Components.Schemas.JudgmentNote(
            id: id, familyId: family.id, contactId: contactId, audience: audience, writtenWithFamily: writtenWithFamily,
            authorId: me, createdAt: now, current: first, revisions: [first], concurrent: false, lateAfterReallocation: false,
            deviceRecordedAt: now)
        try store.enqueue(.createNote(familyId: family.id, body), familyId: family.id, shows: [try .init(.note, id: id, familyId: family.id, note)])
        return id
    }

    /// A new revision superseding the one the worker saw (the note's current one here).
    package func amend(_ note: Caseload.JudgmentNote, with draft: NoteDraft, reason: String) throws {
        let id = Self.newId()
        let body = Components.Schemas.CreateAmendment(
            id: id, supersedes: note.current.id, body: draft.body, sections: draft.sections.isEmpty ? nil : draft.apiSections,
            reason: reason)
        var amended = note
        let revision = Components.Schemas.NoteRevision(
            id: id, number: note.revisions.count + 1, supersedes: note.current.id, body: draft.body, sections: draft.apiSections,
            reason: reason, authorId: me, createdAt: Date(), concurrent: false)
        amended.revisions.append(revision)
        amended.current = revision
        try store.enqueue(.amendNote(noteId: note.id, body), familyId: note.familyId, shows: [try .init(.note, id: note.id, familyId: note.familyId, amended)])
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
        let body = Components.Schemas.CreatePerson(
            id: id, name: person.name, relationshipToChild: person.relationshipToChild, isChildInFocus: person.isChildInFocus,
            dateOfBirth: person.dateOfBirth, contact: person.phone.map { .init(phone: $0) })
        let shown = Components.Schemas.Person(
            id: id, familyId: family.id, name: person.name, relationshipToChild: person.relationshipToChild,
            isChildInFocus: person.isChildInFocus, dateOfBirth: person.dateOfBirth, contact: .init(phone: person.phone),
            interpreterNeeded: false, fieldVersions: .init())
        try store.enqueue(.addPerson(familyId: family.id, body), familyId: family.id, shows: [try .init(.person, id: id, familyId: family.id, shown)])
        return id
    }

    /// Text fields of a person (`phone`, `email`, `address`, `name`, `relationshipToChild`, `language`, `dateOfBirth`;
    /// nil clears), each sent with the version this device saw, so an edit made meanwhile elsewhere becomes a conflict
    /// for a person to resolve rather than being overwritten.
    package func setFields(_ fields: [String: String?], of person: Caseload.Person) throws {
        var edits = Components.Schemas.PersonFieldEdits()
        var shown = person
        for (field, value) in fields {
            let edit = Components.Schemas.TextFieldEdit(value: value, baseVersion: person.fieldVersions.additionalProperties[field] ?? 0)
            switch field {
            case "phone": (shown.contact.phone, edits.phone) = (value, edit)
            case "email": (shown.contact.email, edits.email) = (value, edit)
            case "address": (shown.contact.address, edits.address) = (value, edit)
            case "name": (shown.name, edits.name) = (value ?? shown.name, edit)
            case "relationshipToChild": (shown.relationshipToChild, edits.relationshipToChild) = (value, edit)
            case "language": (shown.language, edits.language) = (value, edit)
            case "dateOfBirth": (shown.dateOfBirth, edits.dateOfBirth) = (value, edit)
            default: throw CommandError.usage("'\(field)' is not a field of a person that can be set here")
            }
        }
        try store.enqueue(
            .setPersonFields(personId: person.id, .init(fields: edits)), familyId: person.familyId,
            shows: [try .init(.person, id: person.id, familyId: person.familyId, shown)])
    }

    /// Progress on a plan item; `from` names the network member whose words the worker writes down.
    package func updatePlanItem(
        _ item: Caseload.PlanItem, in plan: Caseload.FamilyPlan, text: String, status: Components.Schemas.PlanItemStatus?,
        from person: String? = nil
    ) throws {
        let id = Self.newId()
        let body = Components.Schemas.CreatePlanItemUpdate(id: id, text: text, status: status, fromPersonId: person)
        var shown = plan
        if let index = shown.items.firstIndex(where: { $0.id == item.id }) {
            shown.items[index].updates.append(.init(
                id: id, planItemId: item.id, text: text, status: status, authorId: me, fromPersonId: person, createdAt: Date()))
            if let status { shown.items[index].status = status }
        }
        try store.enqueue(.addPlanItemUpdate(planItemId: item.id, body), familyId: plan.familyId, shows: [try .init(.plan, id: plan.id, familyId: plan.familyId, shown)])
    }

    /// A new version of the handover note on the worker's own allocation, for whoever takes the family on; the
    /// server keeps the earlier versions.
    package func writeHandover(_ note: String, on allocation: Caseload.Allocation, jointVisitContactId: String? = nil) throws {
        var shown = allocation
        shown.handoverNote = note
        shown.handoverWrittenBy = me
        shown.handoverWrittenAt = Date()
        shown.handoverVersion = (allocation.handoverVersion ?? 0) + 1
        shown.jointVisitContactId = jointVisitContactId
        try store.enqueue(
            .writeHandover(allocationId: allocation.id, .init(note: note, jointVisitContactId: jointVisitContactId)),
            familyId: allocation.familyId, shows: [try .init(.allocation, id: allocation.id, familyId: allocation.familyId, shown)])
    }

    /// Settles a field conflict: `value` becomes a new version of the field; nil keeps the value showing.
    package func resolveConflict(_ item: Components.Schemas.PulledReviewItem, value: String?) throws {
        try store.enqueue(.resolveConflict(conflictId: item.id, value: value), familyId: item.familyId)
    }

    /// Ids are made here, so a record can be referred to (amended, attached to) before the server has it.
    static func newId() -> String { UUID().uuidString.lowercased() }
}
