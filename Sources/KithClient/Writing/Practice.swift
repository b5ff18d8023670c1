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
        /// Per child in focus, when the worker names them.
        package var childrenSeen: [Components.Schemas.ChildSeen] = []

        package init(at: Date, kind: Components.Schemas.ContactKind) {
            self.at = at
            self.kind = kind
        }

        /// What the worker says of the child in focus: seen, or seen alone, which is seen too; saying neither leaves
        /// both unsaid.
        package mutating func child(seen: Bool, alone: Bool) {
            if seen || alone { childSeen = true }
            if alone { childSeenAlone = true }
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
            childSeen: visit.childSeen, childSeenAlone: visit.childSeenAlone,
            childrenSeen: visit.childrenSeen.isEmpty ? nil : visit.childrenSeen)
        let now = Date()
        let contact = Components.Schemas.Contact(
            id: id, familyId: family.id, occurredAt: visit.at, kind: visit.kind, presentPersonIds: visit.presentPersonIds,
            presentWorkerIds: Array(Set(visit.presentWorkerIds + [me])).sorted(),
            childSeen: Components.Schemas.ChildSeen.summary(visit.childSeen, alone: visit.childSeenAlone, visit.childrenSeen),
            childSeenAlone: visit.childSeenAlone, recordedBy: me, recordedAt: now,
            deviceRecordedAt: now, clockSuspect: false, lateAfterReallocation: false, othersPresent: visit.othersPresent,
            childrenSeen: visit.childrenSeen.isEmpty ? nil : visit.childrenSeen)
        let visited = LocalStore.Outgoing(
            .recordContact(familyId: family.id, body), familyId: family.id, shows: [try .init(.contact, id: id, familyId: family.id, contact)])
        guard let note, !note.isEmpty else {
            try store.enqueue([visited])
            return (id, nil)
        }
        // The visit and its note are one act: kept together, or neither.
        let (noteId, written) = try noteWrite(note, in: family, contactId: id)
        try store.enqueue([visited, written])
        return (id, noteId)
    }

    @discardableResult
    package func writeNote(
        _ draft: NoteDraft, in family: Caseload.Family, audience: Components.Schemas.Audience = .professional,
        writtenWithFamily: Bool = false
    ) throws -> String {
        let (id, written) = try noteWrite(draft, in: family, audience: audience, writtenWithFamily: writtenWithFamily)
        try store.enqueue([written])
        return id
    }

    private func noteWrite(
        _ draft: NoteDraft, in family: Caseload.Family, contactId: String? = nil,
        audience: Components.Schemas.Audience = .professional, writtenWithFamily: Bool = false
    ) throws -> (id: String, LocalStore.Outgoing) {
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
        return (id, .init(.createNote(familyId: family.id, body), familyId: family.id, shows: [try .init(.note, id: id, familyId: family.id, note)]))
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

    /// A note filed in error, withdrawn: it leaves this device's views at once, and the server's when it is sent.
    package func withdraw(_ note: Caseload.JudgmentNote, reason: String) throws {
        var withdrawn = note
        withdrawn.withdrawn = .init(at: Date(), by: me, reason: reason)
        try store.enqueue(
            .withdrawNote(noteId: note.id, .init(reason: reason)), familyId: note.familyId,
            shows: [try .init(.note, id: note.id, familyId: note.familyId, withdrawn)])
    }

    /// A note filed on the wrong family, refiled on `family`: here at once, the original out of every view and the note
    /// in the right family with its revisions; on the server when it is sent, which checks both families as the REST
    /// call does.
    package func refile(_ note: Caseload.JudgmentNote, to family: Caseload.Family, reason: String) throws {
        let id = Self.newId()
        var original = note
        original.withdrawn = .init(at: Date(), by: me, reason: "refiled")
        var refiled = note
        refiled.id = id
        refiled.familyId = family.id
        refiled.contactId = nil
        refiled.withdrawn = nil
        refiled.refiledFrom = .init(noteId: note.id, familyId: note.familyId)
        try store.enqueue(
            .refileNote(noteId: note.id, .init(id: id, familyId: family.id, reason: reason)), familyId: note.familyId,
            shows: [try .init(.note, id: note.id, familyId: note.familyId, original), try .init(.note, id: id, familyId: family.id, refiled)])
    }

    /// A note's audience changed: here at once (narrowed, it leaves what this device shows the family's page for), on
    /// the server when it is sent.
    package func changeAudience(of note: Caseload.JudgmentNote, to audience: Components.Schemas.Audience, reason: String) throws {
        var changed = note
        changed.audience = audience
        try store.enqueue(
            .changeNoteAudience(noteId: note.id, .init(audience: audience, reason: reason)), familyId: note.familyId,
            shows: [try .init(.note, id: note.id, familyId: note.familyId, changed)])
    }

    /// A contact recorded wrongly, corrected: here at once (the values as recorded kept beside it, as the server
    /// keeps them), on the server when it is sent.
    package func correct(_ contact: Caseload.Contact, _ correction: Components.Schemas.CorrectContact) throws {
        var corrected = contact
        corrected.recorded = contact.recorded ?? .init(
            occurredAt: contact.occurredAt, kind: contact.kind, childSeen: contact.childSeen, childSeenAlone: contact.childSeenAlone,
            durationMinutes: contact.durationMinutes, presentPersonIds: contact.presentPersonIds, childrenSeen: contact.childrenSeen)
        let childSeen = Components.Schemas.ChildSeen.summary(correction.childSeen, alone: correction.childSeenAlone, correction.childrenSeen)
        corrected.occurredAt = correction.occurredAt ?? contact.occurredAt
        corrected.kind = correction.kind ?? contact.kind
        corrected.childSeen = childSeen ?? contact.childSeen
        corrected.childSeenAlone = correction.childSeenAlone ?? contact.childSeenAlone
        corrected.durationMinutes = correction.durationMinutes ?? contact.durationMinutes
        corrected.presentPersonIds = correction.presentPersonIds ?? contact.presentPersonIds
        corrected.childrenSeen = correction.childrenSeen ?? contact.childrenSeen
        let changes = Components.Schemas.ContactFacts(
            occurredAt: correction.occurredAt, kind: correction.kind, childSeen: childSeen, childSeenAlone: correction.childSeenAlone,
            durationMinutes: correction.durationMinutes, presentPersonIds: correction.presentPersonIds, childrenSeen: correction.childrenSeen)
        corrected.corrections = (contact.corrections ?? []) + [.init(at: Date(), by: me, reason: correction.reason, changes: changes)]
        try store.enqueue(
            .correctContact(contactId: contact.id, correction), familyId: contact.familyId,
            shows: [try .init(.contact, id: contact.id, familyId: contact.familyId, corrected)])
    }

    /// A contact recorded on the wrong family, withdrawn: it leaves this device's views at once, and the server's when
    /// it is sent.
    package func withdraw(_ contact: Caseload.Contact, reason: String) throws {
        var withdrawn = contact
        withdrawn.withdrawn = .init(at: Date(), by: me, reason: reason)
        try store.enqueue(
            .withdrawContact(contactId: contact.id, .init(reason: reason)), familyId: contact.familyId,
            shows: [try .init(.contact, id: contact.id, familyId: contact.familyId, withdrawn)])
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

    // MARK: Conferences, recorded where they happen and sent at the next sync

    /// A referral: a conference at the `referred` stage on the day, coordinated by this worker.
    @discardableResult
    package func refer(_ referral: Components.Schemas.Referral, in family: Caseload.Family, on day: String) throws -> Caseload.Conference {
        let id = Self.newId()
        let body = Components.Schemas.CreateConference(id: id, referral: referral, coordinatorId: me)
        let shown = Caseload.Conference(
            id: id, familyId: family.id, stage: .referred, stageSince: day, referral: referral, coordinatorId: me,
            coordinators: [.init(workerId: me, from: day)],
            stages: [.init(stage: .referred, on: day, recordedBy: me, recordedAt: Date())], participants: [], meetings: [])
        try store.enqueue(
            .createConference(familyId: family.id, body), familyId: family.id,
            shows: [try .init(.conference, id: id, familyId: family.id, shown)])
        return shown
    }

    package func recordStage(
        _ stage: Components.Schemas.ConferenceStage, of conference: Caseload.Conference, on day: String, note: String?
    ) throws {
        var shown = conference
        shown.stage = stage
        shown.stageSince = day
        shown.stages.append(.init(stage: stage, on: day, note: note, recordedBy: me, recordedAt: Date()))
        try enqueue(.recordStage(conferenceId: conference.id, .init(stage: stage, on: day, note: note)), showing: shown)
    }

    package func invite(
        _ who: Caseload.Present, to conference: Caseload.Conference, role: Components.Schemas.ParticipantRole
    ) throws {
        let (person, worker) = who.ids
        var shown = conference
        if let index = shown.participants.firstIndex(where: { $0.personId == person && $0.workerId == worker }) {
            shown.participants[index].role = role
            shown.participants[index].invited = true
        } else {
            shown.participants.append(.init(
                id: Self.newId(), personId: person, workerId: worker, role: role, invited: true, attended: false))
        }
        try enqueue(
            .setParticipant(conferenceId: conference.id, .init(personId: person, workerId: worker, role: role, invited: true)),
            showing: shown)
    }

    /// The meeting and who attended (people of the network or colleagues); one not yet a participant becomes one.
    package func recordMeeting(
        _ kind: Components.Schemas.MeetingKind, of conference: Caseload.Conference, heldOn day: String,
        privateTime: Components.Schemas.PrivateFamilyTime?, attended: [Caseload.Present]
    ) throws {
        let id = Self.newId()
        var shown = conference
        var present: [String] = []
        var ids: [String] = []
        for who in attended {
            let (person, worker) = who.ids
            ids.append(person ?? worker!)
            if let participant = shown.participants.firstIndex(where: { $0.personId == person && $0.workerId == worker }) {
                shown.participants[participant].attended = true
                present.append(shown.participants[participant].id)
            } else {
                let participant = Components.Schemas.Participant(
                    id: Self.newId(), personId: person, workerId: worker, role: worker == nil ? .familyMember : .professional,
                    invited: true, attended: true)
                shown.participants.append(participant)
                present.append(participant.id)
            }
        }
        shown.meetings = (shown.meetings ?? [])
            + [.init(id: id, kind: kind, heldOn: day, privateFamilyTime: privateTime, attended: present, recordedBy: me)]
        if let privateTime { shown.privateFamilyTime = privateTime }
        try enqueue(
            .recordMeeting(
                conferenceId: conference.id, .init(id: id, kind: kind, heldOn: day, privateFamilyTime: privateTime, attended: ids)),
            showing: shown)
    }

    /// The plan's next version.
    @discardableResult
    package func agreePlan(_ plan: Components.Schemas.CreatePlan, for conference: Caseload.Conference, after last: Caseload.FamilyPlan?) throws -> Caseload.FamilyPlan {
        let id = Self.newId()
        var body = plan
        body.id = id
        body.items = plan.items.map { item in var item = item; item.id = item.id ?? Self.newId(); return item }
        let people = Set(try caseload.people(of: conference.familyId).map(\.id))
        let shown = Caseload.FamilyPlan(
            id: id, conferenceId: conference.id, familyId: conference.familyId, version: (last?.version ?? 0) + 1,
            items: body.items.map { item in
                .init(id: item.id!, who: item.who, whoKind: people.contains(item.who) ? .person : .worker, what: item.what, byWhen: item.byWhen,
                      status: .open, updates: [])
            },
            contingency: plan.contingency, reviewOn: plan.reviewOn, agreedByReferrer: plan.agreedByReferrer,
            referrerReasoning: plan.referrerReasoning, createdBy: me, createdAt: Date())
        try store.enqueue(
            .createPlan(conferenceId: conference.id, body), familyId: conference.familyId,
            shows: [try .init(.plan, id: id, familyId: conference.familyId, shown)])
        return shown
    }

    private func enqueue(_ write: DeviceMutation, showing conference: Caseload.Conference) throws {
        try store.enqueue(write, familyId: conference.familyId, shows: [try .init(.conference, id: conference.id, familyId: conference.familyId, conference)])
    }

    /// Settles a field conflict: `value` becomes a new version of the field; nil keeps the value showing.
    package func resolveConflict(_ item: Components.Schemas.PulledReviewItem, value: String?) throws {
        try store.enqueue(.resolveConflict(conflictId: item.id, value: value), familyId: item.familyId)
    }

    /// Ids are made here, so a record can be referred to (amended, attached to) before the server has it.
    static func newId() -> String { UUID().uuidString.lowercased() }
}

extension Practice {
    /// What got in the way, kept on this device and sent at the next sync (`friction.create`). Its id.
    @discardableResult
    package func tell(_ friction: Components.Schemas.CreateFriction) throws -> String {
        var body = friction
        let id = body.id ?? Self.newId()
        body.id = id
        try store.enqueue(.createFriction(frictionId: id, body), familyId: body.familyId)
        return id
    }
}
